import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DIMENSIONS, METRICS } from '../lambdas/shared/metric-catalog';
import { SETTINGS } from '../lambdas/shared/settings';
import { logicalIdOf } from './logical-id';
import { jobMetric } from './monitoring/metrics';

/**
 * State names of the two machines: the tests bind their Task states to local functions by
 * these names, and the runbooks name them.
 */
export const DRAIN_STATES = {
  planWorkers: 'PlanWorkers',
  workers: 'Workers',
  startWorker: 'StartWorker',
  runJob: 'RunJob',
  count: 'CountInvocation',
  workLeft: 'WorkLeft',
  drained: 'Drained',
  reportCap: 'ReportCapReached',
  stoppedAtCap: 'StoppedAtCap',
} as const;

export const TICK_STATES = {
  name: 'TickName',
  findRunning: 'FindRunningDrain',
  previousRunning: 'PreviousDrainRunning',
  skipped: 'SkippedPreviousDrainRunning',
  startDrain: 'StartDrain',
  started: 'DrainStarted',
  alreadyStarted: 'TickAlreadyStarted',
} as const;

/**
 * Errors the Lambda service (not the job) answers an invoke with: retried with backoff.
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException', 'Lambda.TooManyRequestsException',
];

/**
 * What Lambda reports when the function's process died or timed out mid-run (not an error the
 * job threw): retried, since every job is safe to rerun (claims are leased and come back).
 */
export const LAMBDA_CRASH_ERRORS = ['Sandbox.Timedout', 'Runtime.ExitError'];

/**
 * StartExecution's refusal of a name already used. The optimized integration prefixes API
 * errors with `StepFunctions.` (AWS's example: `StepFunctions.ExecutionLimitExceeded`); the API
 * names the error `ExecutionAlreadyExists`, SDKs `ExecutionAlreadyExistsException`: both are caught.
 */
export const ALREADY_EXISTS_ERRORS = ['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'];

export interface DrainStateMachineProps {
  /** The job drained: the `Job` dimension of DrainCapReached, and part of the descriptions. */
  readonly jobName: string;
  /** The job's function; invoked synchronously by the drain machine. */
  readonly function: lambda.IFunction;
  /**
   * Invocations run side by side (a Map over this many identical workers); 1 runs the loop alone.
   * Only for jobs whose claims keep concurrent runs disjoint.
   * @default 1
   */
  readonly workers?: number;
  /**
   * Invocations per worker before the drain stops with work left.
   * @default 100
   */
  readonly maxIterations?: number;
  /**
   * Summed `duration_ms` of a worker's invocations after which it starts no new one.
   * @default Duration.hours(6)
   */
  readonly maxDuration?: Duration;
  /**
   * The function's timeout: the execution times out this plus 5 minutes after the time cap.
   * @default Duration.minutes(15)
   */
  readonly functionTimeout?: Duration;
  /**
   * Namespace of DrainCapReached.
   * @default 'ExportOps'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the machines' execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Keeps invoking a job until it answers `more: false`, on Step Functions (Standard), and the
 * small "tick" machine a schedule starts it through.
 *
 * Drain: a loop Task (Lambda invoke) -> Pass (count) -> Choice (`more`? cap?), run by `workers`
 * identical Map iterations when more than one (the job's claims make them disjoint). A job
 * error fails the execution; Lambda service errors, throttles and crashed invocations are
 * retried with backoff. A worker that reaches the iteration or time cap with work left writes
 * DrainCapReached (putMetricData) and ends.
 *
 * Tick: one execution per scheduled time. Scheduler cannot name an execution from
 * `<aws.scheduler.scheduled-time>` (its Step Functions target takes no name, and the time holds
 * `:`, which names may not), and `<aws.scheduler.execution-id>` changes with every attempt. So
 * the schedule starts the tick machine, which names the drain execution after the scheduled
 * time without its colons: Standard workflows refuse a second StartExecution of a name (a
 * closed one: ExecutionAlreadyExists; a running one with the same input: the same execution),
 * so a Scheduler retry or redelivery cannot start a second drain of a tick. A tick that finds
 * any drain still running ends at once, its output saying so.
 */
export class DrainStateMachine extends Construct {
  /** The machine that drains the backlog (started by the tick machine, or by hand). */
  public readonly drain: sfn.StateMachine;
  /** The machine a schedule starts: one drain per scheduled time. */
  public readonly tick: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  public readonly workers: number;
  public readonly maxIterations: number;
  public readonly maxDuration: Duration;
  private readonly jobName: string;
  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: DrainStateMachineProps) {
    super(scope, id);
    this.jobName = props.jobName;
    this.workers = props.workers ?? 1;
    this.maxIterations = props.maxIterations ?? 100;
    this.maxDuration = props.maxDuration ?? Duration.hours(6);
    this.metricsNamespace = props.metricsNamespace ?? SETTINGS.metricsNamespace.default;
    const functionTimeout = props.functionTimeout ?? Duration.minutes(15);
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`workers must be a whole number >= 1, got ${this.workers}`);

    // One log group for both machines; the /aws/vendedlogs/ prefix keeps CloudWatch Logs'
    // resource policy (one per account, 5,120 characters) from growing with each log group.
    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${props.jobName}-drain`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logOptions: sfn.LogOptions = { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true };

    this.drain = new sfn.StateMachine(this, 'Drain', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.drainDefinition(props.function, functionTimeout)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: `export-ops: invokes ${props.jobName} until it answers more=false (${this.workers} worker(s), caps ${this.maxIterations} invocations / ${this.maxDuration.toHumanString()} each)`,
      // The backstop: the time cap stops new invocations; this ends an execution whose last
      // invocation hangs past its own timeout.
      timeout: this.maxDuration.plus(functionTimeout).plus(Duration.minutes(5)),
      logs: logOptions,
    });
    // DrainCapReached only, in the stack's namespace (PutMetricData has no resource ARN).
    this.drain.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': this.metricsNamespace } },
    }));

    this.tick = new sfn.StateMachine(this, 'Tick', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.tickDefinition(this.drain)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: `export-ops: starts at most one ${props.jobName} drain per scheduled time`,
      timeout: Duration.minutes(5),
      logs: logOptions,
    });
    this.acknowledge(props.function);
  }

  /** The drain: PlanWorkers -> Map(workers) of the loop, or the loop alone for one worker. */
  private drainDefinition(fn: lambda.IFunction, functionTimeout: Duration): sfn.IChainable {
    const S = DRAIN_STATES;
    const startWorker = new sfn.Pass(this, S.startWorker, {
      parameters: { 'scheduledTime.$': '$.scheduledTime', iteration: 0, elapsedMs: 0 },
    });
    // The job's contract, unchanged: `{scheduledTime}` in, its result (with `more`) out.
    const runJob = new tasks.LambdaInvoke(this, S.runJob, {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject({ scheduledTime: sfn.JsonPath.stringAt('$.scheduledTime') }),
      retryOnServiceExceptions: false,
      resultSelector: { 'more.$': '$.Payload.more', 'durationMs.$': '$.Payload.duration_ms' },
      resultPath: '$.last',
      // Without it a Task waits as long as the execution may; an invocation cannot outlive its timeout.
      taskTimeout: sfn.Timeout.duration(functionTimeout.plus(Duration.minutes(1))),
    });
    runJob.addRetry({ errors: LAMBDA_SERVICE_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    // A crashed invocation's claims return after their lease; the rerun takes the rest meanwhile.
    runJob.addRetry({ errors: LAMBDA_CRASH_ERRORS, interval: Duration.seconds(30), maxAttempts: 2, backoffRate: 2 });
    const count = new sfn.Pass(this, S.count, {
      parameters: {
        'scheduledTime.$': '$.scheduledTime',
        'iteration.$': 'States.MathAdd($.iteration, 1)',
        'elapsedMs.$': 'States.MathAdd($.elapsedMs, $.last.durationMs)',
        'more.$': '$.last.more',
      },
    });
    const reportCap = new sfn.CustomState(this, S.reportCap, {
      stateJson: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
        Parameters: {
          Namespace: this.metricsNamespace,
          MetricData: [{ MetricName: METRICS.DrainCapReached.name, Unit: METRICS.DrainCapReached.unit, Value: 1,
            Dimensions: [{ Name: DIMENSIONS.job, Value: this.jobName }] }],
        },
        ResultPath: null,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      },
    });
    const capped = sfn.Condition.or(
      sfn.Condition.numberGreaterThanEquals('$.iteration', this.maxIterations),
      sfn.Condition.numberGreaterThanEquals('$.elapsedMs', this.maxDuration.toMilliseconds()),
    );
    const loop = startWorker.next(runJob).next(count).next(new sfn.Choice(this, S.workLeft)
      .when(sfn.Condition.booleanEquals('$.more', false), new sfn.Succeed(this, S.drained))
      .when(capped, reportCap.next(new sfn.Succeed(this, S.stoppedAtCap)))
      .otherwise(runJob));
    if (this.workers === 1) return loop;

    const plan = new sfn.Pass(this, S.planWorkers, {
      parameters: { 'scheduledTime.$': '$.scheduledTime', 'workers.$': `States.ArrayRange(1, ${this.workers}, 1)` },
    });
    const map = new sfn.Map(this, S.workers, {
      itemsPath: '$.workers',
      maxConcurrency: this.workers,
      itemSelector: { 'scheduledTime.$': '$.scheduledTime' },
    });
    map.itemProcessor(loop);
    return plan.next(map);
  }

  /** The tick: name from the scheduled time -> any drain running? -> start it (refused: recorded). */
  private tickDefinition(drain: sfn.IStateMachine): sfn.IChainable {
    const S = TICK_STATES;
    // "2026-11-29T02:00:00Z" -> "2026-11-29T020000Z": Scheduler's scheduled time always has two colons.
    const part = (i: number) => `States.ArrayGetItem(States.StringSplit($.scheduledTime, ':'), ${i})`;
    const name = new sfn.Pass(this, S.name, {
      parameters: { 'scheduledTime.$': '$.scheduledTime', 'name.$': `States.Format('{}{}{}', ${part(0)}, ${part(1)}, ${part(2)})` },
    });
    const findRunning = new tasks.CallAwsService(this, S.findRunning, {
      service: 'sfn',
      action: 'listExecutions',
      parameters: { StateMachineArn: drain.stateMachineArn, StatusFilter: 'RUNNING', MaxResults: 1 },
      iamResources: [drain.stateMachineArn],
      iamAction: 'states:ListExecutions',
      resultSelector: { 'running.$': 'States.ArrayLength($.Executions)' },
      resultPath: '$.previous',
    });
    const skipped = new sfn.Pass(this, S.skipped, {
      parameters: { outcome: 'skipped: previous drain running', 'name.$': '$.name', 'scheduledTime.$': '$.scheduledTime' },
    });
    const startDrain = new tasks.StepFunctionsStartExecution(this, S.startDrain, {
      stateMachine: drain,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      name: sfn.JsonPath.stringAt('$.name'),
      // Only the scheduled time: the same tick always gives the same input, so a racing
      // duplicate start is answered with the running execution instead of a second one.
      input: sfn.TaskInput.fromObject({ scheduledTime: sfn.JsonPath.stringAt('$.scheduledTime') }),
      associateWithParent: false,
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
      resultPath: '$.drain',
    });
    startDrain.addRetry({ errors: ['StepFunctions.ExecutionLimitExceeded'], interval: Duration.seconds(5), maxAttempts: 5, backoffRate: 2 });
    const alreadyStarted = new sfn.Pass(this, S.alreadyStarted, {
      parameters: { outcome: 'tick already started', 'name.$': '$.name', 'scheduledTime.$': '$.scheduledTime' },
    });
    startDrain.addCatch(alreadyStarted, { errors: ALREADY_EXISTS_ERRORS, resultPath: '$.refusal' });
    const started = new sfn.Pass(this, S.started, {
      parameters: { outcome: 'started', 'name.$': '$.name', 'scheduledTime.$': '$.scheduledTime', 'executionArn.$': '$.drain.executionArn' },
    });
    return name.next(findRunning).next(new sfn.Choice(this, S.previousRunning)
      .when(sfn.Condition.numberGreaterThan('$.previous.running', 0), skipped)
      .otherwise(startDrain.next(started)));
  }

  private acknowledge(fn: lambda.IFunction) {
    for (const machine of [this.drain, this.tick]) {
      Validations.of(machine).acknowledge({
        id: 'AwsSolutions-SF2',
        reason: 'Not traced: the functions are not instrumented (see Serverless-LambdaTracing), so a trace would only repeat the execution history and the ALL-level execution log; X-Ray would need xray:Put* on Resource::*.',
      });
      Validations.of(machine).acknowledge({
        id: 'Serverless-StepFunctionStateMachineXray',
        reason: 'Not traced, as AwsSolutions-SF2 explains.',
      });
      Validations.of(machine.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Execution logging: the log delivery actions (logs:CreateLogDelivery, ...) support no resource ARN (Step Functions docs, "IAM policies for logging to CloudWatch Logs"); ' +
          'on the drain role also cloudwatch:PutMetricData (no resource ARN), limited to the stack\'s namespace by cloudwatch:namespace.',
      });
    }
    Validations.of(this.drain.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
      reason: 'Drain role: lambda:InvokeFunction on its one function and its versions/aliases (the task grant adds `<arn>:*`), nothing else.',
    });
  }

  /** Drain executions that failed (a job error, or retries exhausted). */
  public metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.drain.metricFailed(props);
  }

  /** Drain executions that hit the execution timeout (the backstop after the time cap). */
  public metricTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.drain.metricTimedOut(props);
  }

  /** Tick executions that failed (could not list or start the drain). */
  public metricTickFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tick.metricFailed(props);
  }

  /** Drain workers that stopped at a cap with work left (catalog metric DrainCapReached, Job=<job>). */
  public metricCapReached(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return jobMetric(this.metricsNamespace, this.jobName, METRICS.DrainCapReached, props);
  }
}
