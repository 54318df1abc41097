import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ExportOpsStack, ExportOpsStackProps } from '../../lib/export-ops-stack';

/** Stand-in handlers, so the tests do not depend on the real ones existing. */
export const FIXTURE_HANDLERS = path.join(__dirname, 'fixtures', 'lambdas');
export const FIXTURE_ENTRY = path.join(FIXTURE_HANDLERS, 'file-cleanup', 'handler.ts');

/** An app that skips asset bundling (no esbuild run in unit tests). */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
}

export function testStack(): Stack {
  return new Stack(testApp(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export function exportOpsStack(props: ExportOpsStackProps = {}, context: Record<string, unknown> = {}): ExportOpsStack {
  return new ExportOpsStack(testApp(context), 'ExportOps', {
    supabaseUrl: 'https://abc.supabase.co',
    handlersDir: FIXTURE_HANDLERS,
    env: { account: '123456789012', region: 'eu-west-1' },
    ...props,
  });
}

/** Real cdk-nag findings (AwsSolutions + Serverless) not acknowledged in the code, as readable lines. */
export function nagFindings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack.validateScope(scope).violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)));
}
