import { terminalProgress } from '../../cli/progress';

/** The CLI's progress counter: drawn only on a terminal, with count, total, rate and ETA. */
describe('terminalProgress', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream };
  };

  test('is nothing when the stream is not a terminal', () => {
    const { stream: s, written } = stream(false);
    expect(terminalProgress('file-cleanup', 'files', 10, s)).toBeUndefined();
    expect(written).toEqual([]);
  });

  test('on a terminal, redraws one line with the count, the total, the rate and an ETA, and clears it at the end', async () => {
    const { stream: s, written } = stream(true);
    const progress = terminalProgress('file-cleanup', 'files', 3000, s)!;
    await new Promise((r) => setTimeout(r, 300));
    progress.advance(1000);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\r\x1b\[Kfile-cleanup {2}1,000 \/ 3,000 files {2}[\d,]+\/s {2}ETA \d+ s$/);
    progress.advance(1000); // within the redraw interval: not drawn again
    expect(written).toHaveLength(1);
    progress.done();
    expect(written[1]).toBe('\r\x1b[K');
  });
});
