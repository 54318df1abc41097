import * as z from 'zod';
import { wholeNumber, type Kind } from './setting-kinds';

/**
 * Settings whose values have a format of their own (URLs, crons, ARNs...): the special parsers
 * the settings table attaches to its entries. Plain zod, no CDK: the Lambda bundles carry them.
 */
const string = () => z.string({ error: 'must be text' }).trim();

/**
 * The Supabase project URL, without a trailing slash. The service role key travels in its
 * requests' headers, so plain http is only accepted for a local stack.
 *
 * @example
 * supabaseUrl().schema.parse('https://abc.supabase.co/') // 'https://abc.supabase.co'
 */
export function supabaseUrl(): Kind<string> {
  const schema = string().transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://<project>.supabase.co' });
      return z.NEVER;
    }
    const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) {
      ctx.addIssue({ code: 'custom', message: 'must use https (http only for localhost)' });
    }
    return value.replace(/\/+$/, '');
  });
  return { schema, type: 'URL', bounds: 'https (http only for localhost)' };
}

/**
 * Comma-separated origins (`scheme://host[:port]`, no path), as a list.
 *
 * @example
 * origins().schema.parse('https://files.example.com, https://abc.supabase.co') // ['https://files.example.com', 'https://abc.supabase.co']
 */
export function origins(): Kind<string[]> {
  const schema = string().transform((list, ctx) => {
    const result: string[] = [];
    for (const item of list.split(',').map((o) => o.trim()).filter(Boolean)) {
      try {
        const url = new URL(item);
        if (!/^https?:$/.test(url.protocol) || url.origin !== item.replace(/\/+$/, '').toLowerCase()) throw new Error();
        result.push(url.origin);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be comma-separated origins such as https://files.example.com (no path); "${item}" is not one` });
      }
    }
    return result;
  });
  return { schema, type: 'comma-separated origins', bounds: 'http(s), no path', toEnv: (list) => list.join(',') };
}

/**
 * A path prefix with `{user_id}` / `{export_id}` placeholders, at least one of them, no others:
 * a row (which its user writes) can then only name objects of its own.
 *
 * @example
 * pathTemplate().schema.parse('{user_id}/') // '{user_id}/'
 */
export function pathTemplate(): Kind<string> {
  const schema = string()
    .refine((p) => /\{(user_id|export_id)\}/.test(p), 'must contain {user_id} or {export_id}, so a row can only name an object of its own')
    .refine((p) => !/\{(?!user_id\}|export_id\})[^}]*\}/.test(p), 'may use only the placeholders {user_id} and {export_id}');
  return { schema, type: 'path template', bounds: 'contains `{user_id}` or `{export_id}`, no other placeholder' };
}

/** Field patterns of EventBridge Scheduler cron: minutes hours day-of-month month day-of-week year. */
const CRON_FIELDS: Array<[string, RegExp]> = [
  ['minutes', /^(\*|[0-5]?\d)([-/][0-5]?\d)?(,[0-5]?\d([-/][0-5]?\d)?)*$/],
  ['hours', /^(\*|[01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?(,([01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?)*$/],
  ['day-of-month', /^(\?|\*|L|LW|([1-9]|[12]\d|3[01])W?([-/,]([1-9]|[12]\d|3[01]))*)(\/\d+)?$/],
  ['month', /^(\*|(1[0-2]|0?[1-9]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)([-,/](1[0-2]|0?[1-9]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))*)$/i],
  ['day-of-week', /^(\?|\*|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])?([-,]([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))*)$/i],
  ['year', /^(\*|(19[7-9]\d|2[01]\d\d)([-/,]\d{1,4})*)$/],
];

/**
 * An EventBridge Scheduler cron: six fields, the `cron(...)` wrapper optional and dropped.
 *
 * @example
 * cron().schema.parse('cron(0 2 * * ? *)') // '0 2 * * ? *'
 */
export function cron(): Kind<string> {
  const schema = string().transform((value, ctx) => {
    const fields = value.replace(/^cron\((.*)\)$/, '$1').trim().split(/\s+/);
    if (fields.length !== 6) {
      ctx.addIssue({ code: 'custom', message: 'must be a six-field cron: minutes hours day-of-month month day-of-week year, e.g. 0 2 * * ? *' });
      return z.NEVER;
    }
    CRON_FIELDS.forEach(([name, pattern], i) => {
      if (!pattern.test(fields[i])) ctx.addIssue({ code: 'custom', message: `has an invalid ${name} field '${fields[i]}'` });
    });
    // Scheduler requires exactly one of day-of-month and day-of-week to be '?'.
    if ((fields[2] === '?') === (fields[4] === '?')) {
      ctx.addIssue({ code: 'custom', message: "must have '?' in exactly one of day-of-month and day-of-week" });
    }
    return fields.join(' ');
  });
  return { schema, type: 'Scheduler cron', bounds: 'six fields, `cron(...)` optional' };
}

/**
 * An IANA time zone this Node.js knows.
 *
 * @example
 * timeZone().schema.parse('Europe/Berlin')
 */
export function timeZone(): Kind<string> {
  const schema = string().refine((zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as UTC or Europe/Berlin');
  return { schema, type: 'IANA time zone' };
}

/**
 * A Secrets Manager secret name or ARN.
 *
 * @example
 * secretRef().schema.parse('prod/supabase')
 */
export function secretRef(): Kind<string> {
  const arn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
  const name = /^[\w/+=.@-]{1,512}$/;
  const schema = string().refine((v) => (v.startsWith('arn:') ? arn.test(v) : name.test(v)), 'must be a Secrets Manager secret name or ARN');
  return { schema, type: 'secret name or ARN' };
}

/**
 * An email address.
 *
 * @example
 * email().schema.parse('ops@example.com')
 */
export function email(): Kind<string> {
  return { schema: string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address'), type: 'email address' };
}

/** Values CloudWatch Logs accepts as a retention (days). */
const LOG_RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * A log group retention in days, one of the values CloudWatch accepts.
 *
 * @example
 * logGroupRetentionDays().schema.parse('90') // 90
 */
export function logGroupRetentionDays(): Kind<number> {
  const schema = wholeNumber({ min: 1 }).schema.refine((d) => LOG_RETENTIONS.includes(d), `must be one of ${LOG_RETENTIONS.join(', ')}`);
  return { schema, type: 'days', bounds: '1, 3, 5, 7, 14, 30, 60, 90, … (a CloudWatch value)' };
}
