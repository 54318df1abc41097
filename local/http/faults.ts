/**
 * Fault hook for tests: makes chosen requests to the local Supabase front fail the way real
 * networks and servers do, so the jobs' retry and recovery paths run against real HTTP.
 */
export type Fault =
  /** Answer with this status (and body) instead of serving the request. */
  | { status: number; body?: unknown }
  /** Never answer (or answer after `ms`); the client's own timeout has to fire. */
  | { hang: true; ms?: number }
  /** Destroy the socket without answering: the client sees a network error. */
  | { drop: true }
  /**
   * Serve the request normally after waiting `ms` (`when` is ignored): latency, e.g. real
   * Storage's 1.2-4.5 s for a 1000-name remove(), for benchmarks of latency-bound work.
   */
  | { delay: number };

export interface FaultRule {
  /** HTTP method to match. @default any */
  method?: string;
  /** Matches the request path (e.g. `/storage/v1/object/exports`); a string must be a prefix. @default any */
  path?: string | RegExp;
  /** The first matching request (1-based) that gets the fault. @default 1 */
  nth?: number;
  /** How many consecutive matching requests, from `nth` on, get it. @default 1 */
  times?: number;
  /**
   * `before`: the server does nothing. `after`: the request is served (a delete really
   * deletes), then the answer is replaced by the fault — the "lost response" case.
   * @default 'before'
   */
  when?: 'before' | 'after';
  fault: Fault;
}

export interface FaultHandle {
  /** Matching requests seen so far. */
  readonly matched: number;
  /** Faults actually injected so far. */
  readonly injected: number;
  remove(): void;
}

interface ActiveRule extends FaultRule {
  matched: number;
  injected: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];

  /**
   * @example
   * const fault = stack.faults.add({ method: 'DELETE', path: '/storage/v1/object/exports', nth: 2, fault: { status: 500 } });
   * @example
   * stack.faults.add({ method: 'DELETE', path: '/storage/v1/object/exports', times: Infinity, fault: { delay: 1000 } });
   */
  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { ...rule, matched: 0, injected: 0 };
    this.rules.push(active);
    return {
      get matched() { return active.matched; },
      get injected() { return active.injected; },
      remove: () => { this.rules = this.rules.filter((r) => r !== active); },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, if any rule fires; counts every match. */
  take(method: string, path: string): { fault: Fault; when: 'before' | 'after' } | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (rule.path && !(typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path))) continue;
      rule.matched += 1;
      const first = rule.nth ?? 1;
      if (rule.matched >= first && rule.matched < first + (rule.times ?? 1)) {
        rule.injected += 1;
        return { fault: rule.fault, when: rule.when ?? 'before' };
      }
    }
    return undefined;
  }
}
