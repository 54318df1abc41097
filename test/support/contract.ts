import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from './stack';

/**
 * Port contracts: one set of cases run against an in-memory fake (what the logic tests run over)
 * and against the real adapter on the local stack, so the fake cannot drift from what the SQL
 * functions, Storage and S3 do. A "world" is one system the ports are adapters of, with the
 * helpers a case needs to set it up and look into it; each case asks for a fresh one.
 */

/** One system a contract runs against. */
export interface ContractBackend<World> {
  /** Shown in the describe title, e.g. `in-memory fakes`. */
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A world for one case, empty of what earlier cases left. */
  world(): Promise<World>;
}

/**
 * The in-memory side: nothing to start; a new world per case.
 *
 * @example
 * inMemory(() => ({ runs: new FakeRunLedger(), ... }))
 */
export function inMemory<World>(world: () => World | Promise<World>, name = 'in-memory fakes'): ContractBackend<World> {
  return { name, start: async () => {}, stop: async () => {}, world: async () => world() };
}

/**
 * The real side: one local stack (PGlite, or a scratch database with DATABASE_URL) for the test
 * file; `prepare` runs once after it starts, `world` builds each case's world over it (and
 * clears what earlier cases left).
 *
 * @example
 * onLocalStack('supabase-js adapter', { world: async (stack) => ({ runs: new SupabaseRunLedger(client(stack)), ... }) })
 */
export function onLocalStack<World>(
  adapters: string,
  setup: { prepare?(stack: LocalStack): Promise<void>; world(stack: LocalStack): Promise<World> },
): ContractBackend<World> {
  let stack: LocalStack | undefined;
  const started = () => {
    if (!stack) throw new Error('the local stack is not started (world() outside a test?)');
    return stack;
  };
  return {
    name: `${adapters} on the local stack (${databaseMode})`,
    async start() {
      stack = await startTestStack();
      await setup.prepare?.(stack);
    },
    async stop() {
      await stack?.stop();
    },
    world: () => setup.world(started()),
  };
}

/**
 * Runs `cases` once per backend, each in its own describe block that starts and stops it.
 * Cases call `world()` for a fresh world.
 *
 * @example
 * describeContract('run ledger contract', [fake, real], (world) => {
 *   test('...', async () => { const w = await world(); ... });
 * });
 */
export function describeContract<World>(
  title: string,
  backends: ContractBackend<World>[],
  cases: (world: () => Promise<World>) => void,
): void {
  describe.each(backends.map((backend) => [backend.name, backend] as const))(`${title}: %s`, (_name, backend) => {
    beforeAll(() => backend.start());
    afterAll(() => backend.stop());
    cases(() => backend.world());
  });
}
