import { StateMachine } from 'aws-local-stepfunctions';
import type { AslDefinition } from './definitions';

/**
 * Step Functions for tests: each state machine definition (as synthesized) runs on the
 * aws-local-stepfunctions interpreter, and the service calls its Task states make are bound to
 * local functions that keep the service's own rules:
 *
 * - StartExecution (the tick's StartDrain), from the API reference
 *   https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html :
 *   a name is 1-80 characters without whitespace, brackets `< > { } [ ]`, wildcards `? *`,
 *   `" # % \ ^ | ~ ` $ & , ; : /` or control characters (else InvalidName); "StartExecution is
 *   idempotent for STANDARD workflows": the same name and input as a running execution returns
 *   that execution, while a closed execution of that name, or a different input, is refused
 *   with ExecutionAlreadyExists. The optimized integration names the errors
 *   `StepFunctions.<API error>` (AWS's own example retries `StepFunctions.ExecutionLimitExceeded`).
 * - ListExecutions (the tick's FindRunningDrain): the executions of a machine, newest first,
 *   filtered by status, at most MaxResults.
 * - Lambda Invoke (RunJob): see `LambdaService` below.
 * - CloudWatch PutMetricData (ReportCapReached): recorded in `metricData`.
 *
 * Each started execution runs to its end in the background; `execution()` gives its outcome.
 */

/** An error as Step Functions names it (States' Retry/Catch match on the name). */
export class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface LocalExecution {
  arn: string;
  name: string;
  machineArn: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  /** The execution's output (SUCCEEDED). */
  output?: unknown;
  /** The error that ended it (FAILED). */
  error?: Error;
  /** Resolves when it ends, whatever the outcome. */
  done: Promise<void>;
}

/** What a Lambda function is in these tests: the real handler, called as the runtime calls it. */
export type LambdaHandler = (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

/** Task state name -> local function for one machine (beyond the service calls bound here). */
export type LocalHandlers = Record<string, (input: any) => Promise<unknown>>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

export class LocalStepFunctions {
  private readonly machines = new Map<string, AslDefinition>();
  private readonly executions = new Map<string, LocalExecution>();
  /** PutMetricData requests, in order. */
  public readonly metricData: unknown[] = [];
  /** StartExecution calls, in order, with what each answered. */
  public readonly starts: { name: string; answer: 'started' | 'same execution' | 'ExecutionAlreadyExists' }[] = [];

  /**
   * @param invoke the Lambda service: FunctionName, Payload -> the function's result
   * @param retryIntervals per Task state name, the pause before each retrier's retry in ms
   *   (the definition's IntervalSeconds are minutes-long in places; the rules stay the definition's)
   */
  constructor(
    private readonly invoke: (functionName: string, payload: unknown) => Promise<unknown>,
    private readonly retryIntervals: Record<string, number | number[]> = {},
  ) {}

  /** Adds a machine (as `stateMachineDefinitions` gives it). */
  define(arn: string, definition: AslDefinition): this {
    this.machines.set(arn, definition);
    return this;
  }

  /** StartExecution, as the API answers it. */
  startExecution(machineArn: string, name: string, input: unknown): { executionArn: string; startDate: Date } {
    const definition = this.machines.get(machineArn);
    if (!definition) throw new StatesError('StepFunctions.StateMachineDoesNotExist', `State Machine Does Not Exist: '${machineArn}'`);
    if (name.length < 1 || name.length > 80 || NAME_FORBIDDEN.test(name)) throw new StatesError('StepFunctions.InvalidName', `Invalid Name: '${name}'`);
    const inputText = typeof input === 'string' ? input : JSON.stringify(input ?? {});
    const arn = `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === inputText) {
        this.starts.push({ name, answer: 'same execution' });
        return { executionArn: arn, startDate: existing.startDate };
      }
      this.starts.push({ name, answer: 'ExecutionAlreadyExists' });
      throw new StatesError('StepFunctions.ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    this.starts.push({ name, answer: 'started' });
    const execution: LocalExecution = { arn, name, machineArn, input: inputText, status: 'RUNNING', startDate: new Date(), done: Promise.resolve() };
    this.executions.set(arn, execution);
    const parsed = JSON.parse(inputText) as Parameters<StateMachine["run"]>[0];
    const run = new StateMachine(definition, { validationOptions: { checkArn: false } }).run(parsed, {
      overrides: { taskResourceLocalHandlers: this.handlers() as never, retryIntervalOverrides: this.retryIntervals },
      context: { Execution: { Id: arn, Name: name, Input: parsed, StartTime: execution.startDate.toISOString() } },
    });
    execution.done = run.result.then(
      (output) => { execution.status = 'SUCCEEDED'; execution.output = output; },
      (error: Error) => { execution.status = 'FAILED'; execution.error = (error as { cause?: Error }).cause ?? error; },
    );
    return { executionArn: arn, startDate: execution.startDate };
  }

  /** ListExecutions: newest first. */
  listExecutions(machineArn: string, statusFilter?: ExecutionStatus, maxResults = 100): LocalExecution[] {
    return [...this.executions.values()]
      .filter((e) => e.machineArn === machineArn && (!statusFilter || e.status === statusFilter))
      .reverse()
      .slice(0, maxResults);
  }

  /** An execution by machine and name. */
  execution(machineArn: string, name: string): LocalExecution {
    const e = this.executions.get(`${machineArn.replace(':stateMachine:', ':execution:')}:${name}`);
    if (!e) throw new Error(`no execution ${name} of ${machineArn}`);
    return e;
  }

  /** Every Task state of these machines, bound to the local services. */
  private handlers(): LocalHandlers {
    return {
      RunJob: async (input: { FunctionName: string; Payload: unknown }) => ({
        ExecutedVersion: '$LATEST', StatusCode: 200, Payload: await this.invoke(input.FunctionName, input.Payload),
      }),
      ReportCapReached: async (input: unknown) => {
        this.metricData.push(input);
        return {};
      },
      FindRunningDrain: async (input: { StateMachineArn: string; StatusFilter?: ExecutionStatus; MaxResults?: number }) => ({
        Executions: this.listExecutions(input.StateMachineArn, input.StatusFilter, input.MaxResults)
          .map((e) => ({ ExecutionArn: e.arn, Name: e.name, StateMachineArn: e.machineArn, Status: e.status, StartDate: e.startDate.toISOString() })),
      }),
      StartDrain: async (input: { StateMachineArn: string; Name: string; Input: unknown }) => {
        const started = this.startExecution(input.StateMachineArn, input.Name, input.Input);
        return { ExecutionArn: started.executionArn, StartDate: started.startDate.toISOString() };
      },
    };
  }
}
