/** `GET /v1/probes[?status=healthy|unhealthy|starting|stopped|error]`: probe and restart state of every probed container. */
import type { RouteDefinition } from '../api/routes.ts';
import { DockhandError } from '../core/errors.ts';
import type { HealthMonitor } from './health-monitor.ts';

const STATUSES = new Set(['starting', 'healthy', 'unhealthy', 'stopped', 'error']);

export function healthRoutes(monitor: HealthMonitor): RouteDefinition[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/probes',
      handler: ({ query }) => {
        const status = query.get('status');
        if (status !== null && !STATUSES.has(status)) {
          throw new DockhandError('BAD_REQUEST', `query parameter "status" must be one of ${[...STATUSES].join(', ')}`);
        }
        return { json: monitor.probesDocument(status) };
      },
    },
  ];
}
