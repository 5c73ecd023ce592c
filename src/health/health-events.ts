/** How the health capability reports what it decides: an agent event (shipped, on /v1/events) and its log line. */
export type EventLevel = 'info' | 'warn' | 'error';

/** Records an agent event (and its log line); `details` names the container. */
export type HealthEventSink = (action: string, level: EventLevel, message: string, details: Record<string, unknown>) => void;
