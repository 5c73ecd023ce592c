/**
 * Builds a cached artefact once across processes: the test orchestrator starts the release
 * fixtures in the background while other tests run, and a test file that needs one before it is
 * done waits for that build instead of starting its own. The first process creates
 * `<target>.lock` (mkdir is atomic) holding its pid; the others poll until the target exists, or
 * take over when the owner has died.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A lock directory without a pid this long after its creation is left over from a crash. */
const PIDLESS_GRACE_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock's owner is gone (then the lock is stale). */
async function stale(lock: string): Promise<boolean> {
  const pid = Number.parseInt(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''), 10);
  if (pid > 0) return !alive(pid);
  const created = await stat(lock).then((s) => s.mtimeMs, () => undefined);
  return created !== undefined && Date.now() - created > PIDLESS_GRACE_MS;
}

/**
 * Takes the lock directory `lock` for this process: true when taken (a stale one, whose owner
 * died, is taken over), false when a live process holds it.
 */
export async function tryLock(lock: string): Promise<boolean> {
  for (;;) {
    try {
      await mkdir(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await stale(lock))) return false;
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    await writeFile(path.join(lock, 'pid'), String(process.pid));
    return true;
  }
}

/** Runs `build` unless `exists()`; when another process is building `target`, waits for it. */
export async function buildOnce(target: string, exists: () => boolean, build: () => Promise<void>): Promise<void> {
  const lock = `${target}.lock`;
  await mkdir(path.dirname(target), { recursive: true });
  while (!exists()) {
    if (!(await tryLock(lock))) {
      await sleep(500);
      continue;
    }
    try {
      if (!exists()) await build();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
