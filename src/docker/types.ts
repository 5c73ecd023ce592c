/**
 * What the agent knows about one container, kept live from Docker events and periodic
 * reconciliation. Plain data: safe to serialise to the API and to log events as is.
 */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead' | 'unknown';
export type ContainerHealth = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface PublishedPort {
  /** Port inside the container. */
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** Host address it is published on ('0.0.0.0', '::', '127.0.0.1', …). */
  hostIp: string;
  hostPort: number;
}

// A type alias, not an interface: API views extend records with an index signature.
export type ContainerRecord = {
  id: string;
  /** Name without Docker's leading slash. */
  name: string;
  /** Image reference as the container was created with (`repo/app:8`). */
  image: string;
  /** Tag part of `image` (`latest` when none was given; '' for a digest-only reference). */
  imageTag: string;
  imageId: string;
  labels: Record<string, string>;
  state: ContainerState;
  health: ContainerHealth;
  restartCount: number;
  /** Docker's restart policy name (`no`, `always`, `unless-stopped`, `on-failure`). */
  restartPolicy: string;
  restartPolicyMaxRetries: number;
  /** Exit code of the last run; null while it has never exited. */
  exitCode: number | null;
  oomKilled: boolean;
  /** ISO timestamps, null when Docker reports the zero time. */
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Host PID of the container's init process; 0 when not running. */
  pid: number;
  hostname: string;
  networkMode: string;
  /** Network name → IPv4 address (empty when none). */
  ips: Record<string, string>;
  ports: PublishedPort[];
  /** Cgroup path of the container relative to the cgroup mount (`/docker/<id>` or `/system.slice/docker-<id>.scope`). */
  cgroupPath: string;
  /** Unix ms when the agent last refreshed this record from Docker. */
  updatedAt: number;
};

/** Lifecycle actions the agent records and ships (Docker's names). */
export type ContainerAction =
  | 'create'
  | 'start'
  | 'restart'
  | 'die'
  | 'oom'
  | 'kill'
  | 'stop'
  | 'pause'
  | 'unpause'
  | 'health_status'
  | 'destroy'
  | 'rename'
  | 'update';

export interface ContainerEvent {
  kind: 'container';
  /** Monotonic sequence number assigned by the agent; `/v1/events?since=` pages on it. */
  seq: number;
  /** Unix ms of the event as Docker reported it (timeNano / 1e6). */
  time: number;
  action: ContainerAction;
  containerId: string;
  containerName: string;
  image: string;
  /** Present on `die`. */
  exitCode?: number;
  /** Present on `kill`. */
  signal?: string;
  /** Present on `health_status`. */
  health?: ContainerHealth;
  labels: Record<string, string>;
}

/** Something the agent itself did or noticed (Docker connection lost, reconnected, …). */
export interface AgentEvent {
  kind: 'agent';
  seq: number;
  time: number;
  action: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  details?: Record<string, unknown>;
}

export type RecordedEvent = ContainerEvent | AgentEvent;
