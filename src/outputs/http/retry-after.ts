/**
 * HTTP status → what the output does with the batch, and `Retry-After` parsing.
 * Logstash's http input answers 200 once the events are in its queue, 429 when it is busy
 * (its pending-request bound) and 5xx when the pipeline fails; 4xx otherwise means this
 * request can never succeed (400 bad body, 401/403 auth, 413 too large).
 */
export type StatusVerdict = 'acked' | 'retry' | 'fatal';

export function verdictFor(status: number): StatusVerdict {
  if (status >= 200 && status < 300) return 'acked';
  // 408 Request Timeout and 425 Too Early are explicitly "try again"; 429 is Logstash busy.
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'fatal';
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Milliseconds from `now`, or
 * null when absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date names its weekday and month; Date.parse alone would also take "-5" (year -5).
  if (!/^[a-z]{3,9}, /i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
