/**
 * The read-only view of the agent that the HTTP API serves. The API never reaches into
 * components directly: agent.ts builds one of these, tests build their own.
 */
import type { ContainerRecord, RecordedEvent } from '../docker/types.ts';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/**
 * A container as the API shows it: the inventory record plus what other components know of it
 * (latest stats, probe and restart state), each under its own key.
 */
export type ContainerDetails = ContainerRecord & Record<string, unknown>;

export interface AgentView {
  readiness(): Readiness;
  /** Host status document for `/v1/host` (see src/host). */
  host(): Promise<Record<string, unknown>>;
  containers(): ContainerDetails[];
  /** By full id, unique id prefix (>= 4 chars) or name; undefined when none; throws DockhandError('BAD_REQUEST') when a prefix is ambiguous. */
  container(ref: string): ContainerDetails | undefined;
  /** Events with seq > since, oldest first, at most `limit`. */
  events(since: number, limit: number): RecordedEvent[];
  /** Prometheus text exposition and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
}
