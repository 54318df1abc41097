import type { Template } from 'aws-cdk-lib/assertions';
import { ResolvedTemplate, type CfnTemplate } from '../iam/template';

/** An Amazon States Language document (as much of it as the tests read). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AslDefinition = { StartAt: string; States: Record<string, any>; TimeoutSeconds?: number; Comment?: string };

/** One drained job's two machines, as deployed. */
export interface DrainMachines {
  job: string;
  /** The drain machine's ARN and its definition, every token resolved. */
  drainArn: string;
  drain: AslDefinition;
  tickArn: string;
  tick: AslDefinition;
  /** The ARN of the function the drain invokes. */
  functionArn: string;
}

/**
 * The state machines of a synthesized stack by drained job: each `DefinitionString` (an
 * Fn::Join of literal JSON and Refs/GetAtts) resolved to plain JSON, with the placeholder ARNs
 * test/support/iam/template.ts gives every resource. The job is the one whose function the
 * drain's RunJob state invokes; the tick is the machine whose StartDrain state starts that drain.
 *
 * @example
 * const { drain, tick } = stateMachineDefinitions(Template.fromStack(stack))['file-cleanup'];
 */
export function stateMachineDefinitions(template: Template | CfnTemplate): Record<string, DrainMachines> {
  const json = ('toJSON' in template ? template.toJSON() : template) as CfnTemplate;
  const t = new ResolvedTemplate(json);
  const machines = t.ofType('AWS::StepFunctions::StateMachine').map((id) => ({
    arn: t.getAtt(id, 'Arn'),
    definition: JSON.parse(t.prop(id, 'DefinitionString') as string) as AslDefinition,
  }));
  const jobOfFunction = new Map(t.ofType('AWS::Lambda::Function').map((id) => [
    t.getAtt(id, 'Arn'), (t.prop(id, 'Environment').Variables as Record<string, string>).POWERTOOLS_SERVICE_NAME,
  ]));
  const out: Record<string, DrainMachines> = {};
  for (const drain of machines) {
    const runJob = findState(drain.definition, 'RunJob');
    if (!runJob) continue;
    const functionArn = String(runJob.Parameters.FunctionName);
    const job = jobOfFunction.get(functionArn);
    if (!job) throw new Error(`drain ${drain.arn} invokes ${functionArn}, which is no function of the template`);
    const tick = machines.find((m) => findState(m.definition, 'StartDrain')?.Parameters.StateMachineArn === drain.arn);
    if (!tick) throw new Error(`no tick machine starts the ${job} drain`);
    out[job] = { job, drainArn: drain.arn, drain: drain.definition, tickArn: tick.arn, tick: tick.definition, functionArn };
  }
  return out;
}

/** A state by name, at the top level or inside a Map's ItemProcessor. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function findState(definition: AslDefinition, name: string): any {
  if (definition.States[name]) return definition.States[name];
  for (const state of Object.values(definition.States)) {
    const inner = state.ItemProcessor ?? state.Iterator;
    const found = inner ? findState(inner, name) : undefined;
    if (found) return found;
  }
  return undefined;
}
