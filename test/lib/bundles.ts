import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource } from 'aws-cdk-lib';
import { ExportOpsStack } from '../../lib/export-ops-stack';

export const JOB_NAMES = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'] as const;

/**
 * Synthesizes the real stack with real esbuild bundling of the real handlers, and returns each
 * function's bundle folder (the asset that would be uploaded), by job name.
 */
export function synthesizeBundles(): Record<(typeof JOB_NAMES)[number], string> {
  const outdir = mkdtempSync(join(tmpdir(), 'export-ops-cdk-'));
  const app = new App({ outdir });
  const stack = new ExportOpsStack(app, 'ExportOps', {
    supabaseUrl: 'https://abc.supabase.co',
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const jobs = { 'file-cleanup': stack.fileCleanup, 'log-cleanup': stack.logCleanup, 'metrics-aggregate': stack.metricsAggregate };
  const template = artifact.template as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
  return Object.fromEntries(JOB_NAMES.map((name) => {
    const logicalId = stack.resolve((jobs[name].function.node.defaultChild as CfnResource).logicalId) as string;
    const key = template.Resources[logicalId].Properties.Code?.S3Key as string;
    return [name, join(outdir, `asset.${key.replace(/\.zip$/, '')}`)];
  })) as Record<(typeof JOB_NAMES)[number], string>;
}
