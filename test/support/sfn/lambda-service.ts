import { DEADLINE_MARGIN_MS } from '../../../lambdas/shared/job';
import { type LambdaHandler, StatesError } from './local-step-functions';

/** One invocation as the Lambda service saw it. */
export interface Invocation {
  n: number;
  functionName: string;
  payload: unknown;
  /** The function's result, or the error Step Functions saw. */
  result?: unknown;
  error?: string;
}

/**
 * What stands in for one invocation instead of the handler (a throttle, a crashed worker):
 * return a promise to use it, undefined to run the handler.
 */
export type InvocationOverride = (invocation: Invocation) => Promise<unknown> | undefined;

/**
 * The Lambda service of the drain tests: `Invoke` (RequestResponse) runs the real handler of the
 * function named (lambdas/<job>/handler.ts, `handler(event, context)`) in this process, with a
 * context whose remaining time gives the job a budget of `budgetMs` (the handler keeps
 * DEADLINE_MARGIN_MS of Lambda's remaining time back), so a backlog takes many invocations.
 * A handler that throws is a function error: Step Functions sees the error's name (Lambda's
 * errorType), e.g. `Error`, which no retrier of the drain matches.
 */
export class LambdaService {
  public readonly invocations: Invocation[] = [];
  /** Set per test: replaces chosen invocations. */
  public override?: InvocationOverride;

  constructor(private readonly functions: Record<string, { handler: LambdaHandler; budgetMs: number }>) {}

  readonly invoke = async (functionName: string, payload: unknown): Promise<unknown> => {
    const fn = this.functions[functionName];
    if (!fn) throw new StatesError('Lambda.ResourceNotFoundException', `Function not found: ${functionName}`);
    const invocation: Invocation = { n: this.invocations.length + 1, functionName, payload };
    this.invocations.push(invocation);
    const started = Date.now();
    const context = { getRemainingTimeInMillis: () => fn.budgetMs + DEADLINE_MARGIN_MS - (Date.now() - started) };
    try {
      invocation.result = await (this.override?.(invocation) ?? fn.handler(payload, context));
      return invocation.result;
    } catch (error) {
      const e = error instanceof StatesError ? error : new StatesError((error as Error).name || 'Error', (error as Error).message);
      invocation.error = e.name;
      throw e;
    }
  };
}
