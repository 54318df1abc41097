import { createJobDeps } from '../../../lambdas/shared/job';
import { createJobLogger, serviceName } from '../../../lambdas/shared/observability';

/** The JSON lines a logger writes while `fn` runs. */
function linesOf(fn: () => void): Array<Record<string, unknown>> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('service name', () => {
  test('POWERTOOLS_SERVICE_NAME wins, as the stack sets it per function; export-ops without it', () => {
    expect(serviceName({ POWERTOOLS_SERVICE_NAME: 'log-cleanup' })).toBe('log-cleanup');
    expect(serviceName({})).toBe('export-ops');
    expect(serviceName({ POWERTOOLS_SERVICE_NAME: ' ' })).toBe('export-ops');
  });

  test("a job's logger writes the function's service name, and its job", async () => {
    const deps = await createJobDeps({ name: 'file-cleanup', ports: () => ({}) }, {
      env: { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k', POWERTOOLS_SERVICE_NAME: 'file-cleanup' },
    });
    const [line] = linesOf(() => deps.logger.info('hello'));
    expect(line).toMatchObject({ service: 'file-cleanup', job: 'file-cleanup', message: 'hello' });
  });

  test('without the variable the lines say export-ops', () => {
    const [line] = linesOf(() => createJobLogger('metrics-aggregate', serviceName({})).info('hello'));
    expect(line).toMatchObject({ service: 'export-ops', job: 'metrics-aggregate' });
  });
});
