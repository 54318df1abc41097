import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { App, CfnResource } from 'aws-cdk-lib';
import { ExportOpsStack } from '../../lib/export-ops-stack';
import { BUNDLE_METAFILE_CONTEXT } from '../../lib/scheduled-job';

export const JOB_NAMES = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'] as const;

type Bundles = Record<(typeof JOB_NAMES)[number], string>;

const ROOT = join(__dirname, '..', '..');
/** Everything a bundle is made from: the stack and handler sources, the locked dependencies (esbuild's too), the compiler settings. */
const BUNDLE_INPUTS = ['lib', 'lambdas', 'package-lock.json', 'tsconfig.json', 'cdk.json', relative(ROOT, __filename)];

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => filesUnder(join(path, name)));
}

/** A hash of every input of the bundles, with the Node version. */
function bundleInputsHash(): string {
  const hash = createHash('sha256').update(process.version);
  for (const file of BUNDLE_INPUTS.flatMap((input) => filesUnder(join(ROOT, input)))) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The real stack synthesized with real esbuild bundling of the real handlers: each function's
 * bundle folder (the asset that would be uploaded, plus esbuild's `index.meta.json`), by job
 * name. Synthesis takes 10-20 s, so the folders are kept in the temporary folder under a hash of
 * every input ({@link BUNDLE_INPUTS}): a run after any change to them synthesizes again.
 */
export function synthesizeBundles(): Bundles {
  const cache = join(tmpdir(), 'export-ops-test-cache', `bundles-${bundleInputsHash()}`);
  const byJob = Object.fromEntries(JOB_NAMES.map((name) => [name, join(cache, name)])) as Bundles;
  if (existsSync(cache)) return byJob;
  const fresh = synthesizeFreshBundles();
  const partial = `${cache}.${process.pid}.partial`;
  for (const name of JOB_NAMES) cpSync(fresh[name], join(partial, name), { recursive: true });
  rmSync(dirname(fresh['file-cleanup']), { recursive: true, force: true });
  writeFileSync(join(partial, 'inputs.txt'), `${BUNDLE_INPUTS.join('\n')}\n`);
  try {
    renameSync(partial, cache);
  } catch (error) {
    // Another test process cached the same bundles first.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(cache)) throw error;
  }
  return byJob;
}

function synthesizeFreshBundles(): Bundles {
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
  })) as Bundles;
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
