/**
 * The Docker daemon's own record of whether a container's last run was ended through its API.
 *
 * dockerd keeps `HasBeenManuallyStopped` in `<DockerRootDir>/containers/<id>/config.v2.json`
 * (it is what makes `--restart unless-stopped` work): a kill or stop through the API sets it —
 * *unless the daemon is shutting down* (moby daemon/kill.go: `if !daemon.IsShuttingDown()`) —
 * and every start clears it. So after a daemon restart it tells, for certain, a container an
 * operator stopped from one the daemon's own shutdown stopped, which the event stream cannot:
 * both send exactly `docker stop`'s kill → die → stop. The API does not expose the field, so it
 * is read from disk, atomically rewritten by dockerd (temp file + rename).
 *
 * Readable only where the agent can read the daemon's data root: as root on the host, or with
 * that directory mounted. The systemd unit runs as the unprivileged `dockhand` user and the
 * container image without the mount, so there the answer is "unavailable" and the caller falls
 * back to the event timing (stop-attribution.ts).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.ts';

/** A container's config.v2.json is a few KiB; labels and env can grow it, never to this. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const FULL_ID = /^[0-9a-f]{64}$/;

export type StopRecord = { manuallyStopped: boolean } | { unavailable: string };

export async function readStopRecord(dockerRootDir: string, id: string): Promise<StopRecord> {
  if (!dockerRootDir) return { unavailable: 'the Docker root directory is not known' };
  if (!FULL_ID.test(id)) return { unavailable: `not a full container id: ${JSON.stringify(id)}` };
  const file = join(dockerRootDir, 'containers', id, 'config.v2.json');
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_CONFIG_BYTES) return { unavailable: `${file}: ${size} bytes, more than ${MAX_CONFIG_BYTES}` };
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { unavailable: errorMessage(err) };
  }
  return parseStopRecord(text, file);
}

/** The `HasBeenManuallyStopped` field of a config.v2.json text. */
export function parseStopRecord(text: string, file = 'config.v2.json'): StopRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { unavailable: `${file}: ${errorMessage(err)}` };
  }
  const value = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>).HasBeenManuallyStopped : undefined;
  if (typeof value !== 'boolean') return { unavailable: `${file}: no boolean HasBeenManuallyStopped` };
  return { manuallyStopped: value };
}
