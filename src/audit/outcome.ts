/**
 * What a check says about one target: a finding (`fail`), or that it could not look
 * (`not_checked`, with the reason — an unreadable root-only file is "permission", never a pass).
 * A target that passes produces nothing.
 */
import type { CheckDefinition } from './catalogue.ts';

export interface Outcome {
  check: string;
  /** What the finding is about: `daemon`, a path, `container:<name>`, `registry:<host:port>`. */
  target: string;
  status: 'fail' | 'not_checked';
  /** For a finding, what was seen; for not_checked, why not (starts with the reason word). */
  detail: string;
  containerId?: string;
  containerName?: string;
}

export function fail(check: string, target: string, detail: string): Outcome {
  return { check, target, status: 'fail', detail };
}

export function notChecked(check: string, target: string, reason: string): Outcome {
  return { check, target, status: 'not_checked', detail: reason };
}

/** A finding as the API shows it. */
export interface Finding {
  check: string;
  cis: string | null;
  severity: CheckDefinition['severity'];
  title: string;
  target: string;
  detail: string;
  remediation: string;
  /** ISO time the agent first saw this finding (kept while it persists). */
  firstSeen: string;
  containerId?: string;
  containerName?: string;
}

export interface NotChecked {
  check: string;
  target: string;
  reason: string;
}

/** Why a file could not be read, as the audit reports it: `permission`, `missing`, or the error code. */
export function readFailure(code: string | undefined): string {
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  return code ?? 'error';
}
