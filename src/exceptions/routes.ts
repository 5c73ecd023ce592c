/**
 * GET /v1/exceptions (the summary) and GET /v1/zabbix/exceptions (Zabbix discovery of the apps
 * with their totals), protected like the other endpoints. Served whether or not
 * logs.exceptions.enabled is set, so a Zabbix template's items stay supported: off = no apps.
 */
import { DockhandError } from '../core/errors.ts';
import { integerParam } from '../api/routes.ts';
import type { RouteDefinition } from '../api/routes.ts';
import { parseDuration } from '../config/units.ts';
import type { ExceptionSummary } from './summary.ts';
import { BUCKETS, BUCKET_MS, OTHER_APP } from './summary.ts';

const MAX_APP = 256;

function badRequest(message: string): DockhandError {
  return new DockhandError('BAD_REQUEST', message);
}

/** `since`: unix milliseconds, or a duration back from now (`15m`, `1h`, `1d`); absent = everything. */
export function sinceParam(query: URLSearchParams, now: number): number {
  const values = query.getAll('since');
  if (values.length === 0) return 0;
  if (values.length > 1) throw badRequest('query parameter "since" is given more than once');
  const raw = values[0] ?? '';
  if (/^\d+$/.test(raw)) return integerParam(query, 'since', 0);
  const ms = parseDuration(raw);
  if (typeof ms === 'string' || raw.trim() === '0') throw badRequest(`query parameter "since" must be unix milliseconds or a duration such as 15m, 1h, 1d; got "${raw.slice(0, 64)}"`);
  return Math.max(0, now - ms);
}

function appParam(query: URLSearchParams): string | undefined {
  const values = query.getAll('app');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw badRequest('query parameter "app" is given more than once');
  const app = values[0] ?? '';
  if (app === '' || app.length > MAX_APP) throw badRequest(`query parameter "app" must be 1 to ${MAX_APP} characters`);
  return app;
}

export function exceptionRoutes(summary: () => ExceptionSummary | null): RouteDefinition[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/exceptions',
      handler: ({ query }) => {
        const now = Date.now();
        const since = sinceParam(query, now);
        const app = appParam(query);
        const limit = integerParam(query, 'limit', 0);
        const s = summary();
        const bounds = s?.bounds;
        return {
          json: {
            enabled: s !== null,
            since: since === 0 ? null : new Date(since).toISOString(),
            bounds: {
              maxApps: bounds?.maxApps ?? 0,
              topPerApp: bounds?.topPerApp ?? 0,
              sampleBytes: bounds?.sampleBytes ?? 0,
              otherApp: OTHER_APP,
              windowBucketSeconds: BUCKET_MS / 1000,
              windowSeconds: (BUCKETS * BUCKET_MS) / 1000,
            },
            apps: s === null ? [] : s.view({ ...(app !== undefined ? { app } : {}), since, ...(limit > 0 ? { limit } : {}), now }),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/zabbix/exceptions',
      handler: () => ({ json: zabbixExceptions(summary()) }),
    },
  ];
}

/**
 * Zabbix discovery of the apps (`{#APP}`) and, for the dependent items, the total over all apps
 * and each app's figures (lastNewAt in unix seconds).
 */
export function zabbixExceptions(summary: ExceptionSummary | null): { data: { '{#APP}': string }[]; total: number; apps: { app: string; total: number; fingerprints: number; newFingerprints: number; lastNewAt: number }[] } {
  const totals = summary?.totals() ?? [];
  return {
    data: totals.map((t) => ({ '{#APP}': t.app })),
    total: totals.reduce((n, t) => n + t.total, 0),
    apps: totals.map((t) => ({ app: t.app, total: t.total, fingerprints: t.fingerprints, newFingerprints: t.newFingerprints, lastNewAt: Math.floor(t.lastNewAt / 1000) })),
  };
}
