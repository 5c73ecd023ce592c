// The daemon's record of manual stops, read from a data root laid out as dockerd writes it.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { parseStopRecord, readStopRecord } from '../../../src/docker/stop-record.ts';

const execFileP = promisify(execFile);
const root = await mkdtemp(join(tmpdir(), 'dockhand-stop-record-'));
after(() => rm(root, { recursive: true, force: true }));
const id = (c: string): string => c.repeat(64);

async function container(cid: string, text: string): Promise<void> {
  await mkdir(join(root, 'containers', cid), { recursive: true });
  await writeFile(join(root, 'containers', cid, 'config.v2.json'), text);
}

test('HasBeenManuallyStopped is read from containers/<id>/config.v2.json', async () => {
  await container(id('a'), JSON.stringify({ ID: id('a'), State: { Running: false }, HasBeenManuallyStopped: true }));
  await container(id('b'), JSON.stringify({ ID: id('b'), HasBeenManuallyStopped: false }));
  assert.deepEqual(await readStopRecord(root, id('a')), { manuallyStopped: true });
  assert.deepEqual(await readStopRecord(root, id('b')), { manuallyStopped: false });
});

test('anything else is "unavailable" with the reason, never a guess', async () => {
  await container(id('c'), '{"ID": "truncated');
  await container(id('d'), JSON.stringify({ ID: id('d') }));
  const reason = async (root_: string, cid: string): Promise<string> => {
    const r = await readStopRecord(root_, cid);
    assert.ok('unavailable' in r, JSON.stringify(r));
    return r.unavailable;
  };
  assert.match(await reason(root, id('c')), /config\.v2\.json: .*JSON/);
  assert.match(await reason(root, id('d')), /no boolean HasBeenManuallyStopped/);
  assert.match(await reason(root, id('e')), /ENOENT/);
  assert.match(await reason('', id('a')), /root directory is not known/);
  // a short id or a path is refused before any file is opened
  assert.match(await reason(root, '../../etc/passwd'), /not a full container id/);
  assert.match(await reason(root, 'abc123'), /not a full container id/);
  assert.deepEqual(parseStopRecord('null'), { unavailable: 'config.v2.json: no boolean HasBeenManuallyStopped' });
  assert.deepEqual(parseStopRecord('{"HasBeenManuallyStopped": "true"}'), { unavailable: 'config.v2.json: no boolean HasBeenManuallyStopped' });
});

test('an unreadable data root (the agent as an unprivileged user) is "unavailable"', async () => {
  await container(id('f'), JSON.stringify({ HasBeenManuallyStopped: true }));
  await chmod(join(root, 'containers', id('f')), 0o700);
  await chmod(join(root, 'containers', id('f'), 'config.v2.json'), 0o600);
  // as root, read it as `nobody` — the systemd unit's unprivileged user is in that position
  const asRoot = process.getuid?.() === 0;
  const script = `import { readStopRecord } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../../src/docker/stop-record.ts')).href)};
process.stdout.write(JSON.stringify(await readStopRecord(${JSON.stringify(root)}, ${JSON.stringify(id('f'))})));`;
  if (!asRoot) await chmod(join(root, 'containers', id('f'), 'config.v2.json'), 0o000);
  const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script], asRoot ? { uid: 65534, gid: 65534 } : {});
  const r = JSON.parse(stdout) as { unavailable?: string };
  assert.match(r.unavailable ?? '', /EACCES/, stdout);
});
