import * as z from 'zod';
import type { JobName } from './observability';

/**
 * One export-ops setting, as declared in the settings table (`settings.ts`). Everything else is
 * derived from these fields: the functions' config, the stack's props and context validation,
 * each function's environment and the configuration tables of README.md and docs/deploy.md.
 * Plain data and zod only: this file ends up in every Lambda bundle, so it must not import CDK.
 */
export interface Setting<T = unknown> {
  /** Environment variable the functions read it from; absent for a setting only the stack uses. */
  readonly env?: string;
  /** `true` when it is a stack prop and a CDK context key, under the setting's own (table) name. */
  readonly context?: true;
  /** For a variable the stack fills in itself (not from a context key): where the value comes from. */
  readonly setByStack?: string;
  /** Which functions get it in their environment (and use it). */
  readonly jobs: readonly JobName[] | 'all';
  /**
   * Checks and converts one value that is set: a string from the environment or `-c key=value`,
   * or a typed value from cdk.json or a stack prop. The one check both sides run.
   */
  readonly schema: z.ZodType<T>;
  /** For the docs: what kind of value, e.g. `whole number`. */
  readonly type: string;
  /** For the docs: the bounds the schema enforces, e.g. `1–3600`. */
  readonly bounds?: string;
  /** The value when unset. */
  readonly default?: T;
  /** For the docs, when the default is not a plain value, e.g. `origin of supabaseUrl`. */
  readonly defaultDoc?: string;
  /** Unset is an error. */
  readonly required?: true;
  /** A valid value, for the error when a required setting is unset. */
  readonly example?: string;
  /** Never echo the value in an error. */
  readonly secret?: true;
  /** How the value is written into a function's environment (default `String(value)`). */
  readonly toEnv?: (value: T) => string;
  /** One line: what it does. Markdown. */
  readonly doc: string;
}

/** A settings table: setting name (camelCase, the context key for a stack setting) to its declaration. */
// `any`: each entry has its own value type.
export type SettingsTable = Readonly<Record<string, Setting<any>>>;

/** The value a setting resolves to: its schema's output, or `undefined` when it may stay unset. */
export type SettingValue<S> = S extends { schema: z.ZodType }
  ? S extends { default: {} } | { required: true } ? z.output<S['schema']> : z.output<S['schema']> | undefined
  : never;

/** Names of the table's settings that match `Where`, e.g. `{ env: string }`. */
export type SettingNames<T, Where> = { [K in keyof T]: T[K] extends Where ? K : never }[keyof T];

/** Resolved values of the named settings. */
export type SettingValues<T, K extends keyof T = keyof T> = { [P in K]: SettingValue<T[P]> };

/** The parts of a setting a kind (`wholeNumber`, `flag`, ...) fills in. */
export type Kind<T> = Pick<Setting<T>, 'schema' | 'type' | 'bounds' | 'toEnv'>;

/** A number from a string (env, `-c`) or a number (cdk.json, props); anything else is refused. */
const numeric = z.preprocess(
  (v) => (typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v),
  z.number({ error: 'must be a number' }),
);

function bounded(schema: z.ZodNumber, min: number, max?: number, maxProblem?: string): z.ZodNumber {
  const low = schema.min(min, min === 0 ? 'must not be negative' : `must be at least ${min}`);
  return max === undefined ? low : low.max(max, maxProblem ?? `must be at most ${max}`);
}

const range = (min: number, max?: number) => (max === undefined ? `≥ ${min}` : `${min}–${max}`);

/**
 * A whole number within bounds.
 *
 * @example
 * { ...wholeNumber({ min: 1, max: 3600 }), default: 900 } // a lease in seconds
 */
export function wholeNumber(opts: { min: number; max?: number; maxProblem?: string }): Kind<number> {
  const schema = numeric.pipe(bounded(z.number().int('must be a whole number'), opts.min, opts.max, opts.maxProblem));
  return { schema, type: 'whole number', bounds: range(opts.min, opts.max) };
}

/**
 * A number within bounds, fractions allowed (e.g. 1.5 hours).
 *
 * @example
 * { ...decimal({ min: 0 }), default: 0 }
 */
export function decimal(opts: { min: number; max?: number }): Kind<number> {
  return { schema: numeric.pipe(bounded(z.number(), opts.min, opts.max)), type: 'number', bounds: range(opts.min, opts.max) };
}

/**
 * `true`/`false` (also `1`/`0`, and real booleans from cdk.json or props).
 *
 * @example
 * { ...flag(), default: false }
 */
export function flag(): Kind<boolean> {
  const schema = z.preprocess((v) => (typeof v === 'boolean' ? String(v) : v),
    z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1'));
  return { schema, type: '`true` / `false`' };
}

/**
 * Non-blank text, trimmed; with `pattern`, it must match.
 *
 * @example
 * { ...text({ pattern: /^[a-z0-9_]{1,255}$/, problem: 'must be lower case letters, digits and underscores' }), default: 'export_ops' }
 */
export function text(opts: { pattern?: RegExp; problem?: string; type?: string } = {}): Kind<string> {
  const base = z.string({ error: 'must be text' }).trim().min(1, 'must not be blank');
  const schema = opts.pattern ? base.regex(opts.pattern, opts.problem ?? `must match ${opts.pattern}`) : base;
  return { schema, type: opts.type ?? 'text' };
}

/**
 * One of a fixed list of strings.
 *
 * @example
 * { ...oneOf(['kms', 's3'] as const), default: 'kms' }
 */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V): Kind<V[number]> {
  const schema = z.enum(values, { error: `must be one of ${values.join(', ')}` }) as unknown as z.ZodType<V[number]>;
  return { schema, type: values.map((v) => `\`${v}\``).join(' or ') };
}
