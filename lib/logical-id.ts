import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The logical id cdk-nag prints for an L2's resource, as in `Resource::<Id.Arn>`: what a
 * finding's acknowledgement must name.
 */
export function logicalIdOf(construct: IConstruct): string {
  const cfn = construct.node.defaultChild as CfnResource;
  return cfn.stack.resolve(cfn.logicalId);
}
