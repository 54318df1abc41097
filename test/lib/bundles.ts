import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource } from 'aws-cdk-lib';
import { ExportOpsStack } from '../../lib/export-ops-stack';
import { BUNDLE_METAFILE_CONTEXT } from '../../lib/scheduled-job';

export const JOB_NAMES = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'] as const;

/**
 * Synthesizes the real stack with real esbuild bundling of the real handlers, and returns each
 * function's bundle folder (the asset that would be uploaded, plus esbuild's `index.meta.json`),
 * by job name.
 */
export function synthesizeBundles(): Record<(typeof JOB_NAMES)[number], string> {
  const outdir = mkdtempSync(join(tmpdir(), 'export-ops-cdk-'));
  const app = new App({ outdir, context: { [BUNDLE_METAFILE_CONTEXT]: true } });
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

/** The part of esbuild's metafile read here: bytes each input contributed to each output. */
interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

/** Which package an esbuild input path belongs to (its innermost node_modules), or `(own code)`. */
export function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(own code)';
  const [scope, name] = input.slice(at + 'node_modules/'.length).split('/');
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

/**
 * Bytes of a bundle's index.js per package, largest first, from the metafile the synthesized
 * asset carries. Every package that reached the bundle is listed (a tree-shaken-away input counts 0).
 */
export function bundleBytesByPackage(bundleDir: string): { pkg: string; bytes: number }[] {
  const meta = JSON.parse(readFileSync(join(bundleDir, 'index.meta.json'), 'utf8')) as Metafile;
  const [, output] = Object.entries(meta.outputs).find(([file]) => file.endsWith('index.js')) ?? [];
  if (!output) throw new Error(`no index.js in the metafile of ${bundleDir}`);
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(input);
    bytes.set(pkg, (bytes.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...bytes].map(([pkg, n]) => ({ pkg, bytes: n })).sort((a, b) => b.bytes - a.bytes);
}
