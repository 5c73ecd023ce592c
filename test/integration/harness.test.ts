// Proves the test harness itself: the suite's engine runs the busybox test image, and a second
// private dockerd can be started, restarted with its containers kept, and cleaned up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { docker, ensureTestImage, findDockerd, removeAllContainers, requireDocker, startPrivateDockerd, TEST_LABEL } from '../helpers/docker-engine.ts';
import { missing } from '../helpers/requirements.ts';

void test('the suite engine runs the test image with the busybox applets tests rely on', async (t) => {
  const host = await requireDocker(t);
  if (!host) return;
  const image = await ensureTestImage(host);

  const run = await docker(host, ['run', '-d', '--network', 'none', '--label', TEST_LABEL, image, 'sleep', '300']);
  const id = run.stdout.trim();
  // by id, not by label: on a shared engine another run's test containers carry the label too
  t.after(() => docker(host, ['rm', '-f', id], { allowFail: true }));
  const inspect = await docker(host, ['inspect', '--format', '{{.State.Running}} {{.Config.Image}}', id]);
  assert.equal(inspect.stdout.trim(), `true ${image}`);

  const which = await docker(host, ['exec', id, 'which', 'httpd', 'nc', 'wget', 'sh']);
  assert.equal(which.stdout.trim().split('\n').length, 4, `missing applets: ${which.stdout}`);
  const users = await docker(host, ['run', '--rm', '--network', 'none', '--user', 'nobody', image, 'id', '-un']);
  assert.equal(users.stdout.trim(), 'nobody');

  await docker(host, ['rm', '-f', id]);
  const left = await docker(host, ['ps', '-aq', '--filter', `id=${id}`]);
  assert.equal(left.stdout.trim(), '');
});

void test('a second private dockerd survives restart() with its containers and cleans up', async (t) => {
  const suiteHost = await requireDocker(t);
  if (!suiteHost) return;
  if (process.getuid?.() !== 0 || !(await findDockerd())) {
    missing(t, 'starting a private dockerd needs root and an installed dockerd');
    return;
  }
  const daemon = await startPrivateDockerd({ name: 'harness' });
  t.after(() => daemon.cleanup());
  assert.notEqual(daemon.host, suiteHost);
  const image = await ensureTestImage(daemon.host);

  // --stop-timeout 1: sleep as PID 1 ignores SIGTERM, and the daemon waits that long on shutdown
  const before = await docker(daemon.host, [
    'run', '-d', '--network', 'none', '--label', TEST_LABEL, '--restart', 'always', '--stop-timeout', '1', image, 'sleep', '300',
  ]);
  const id = before.stdout.trim();
  const pidBefore = daemon.pid;

  await daemon.restart();
  assert.notEqual(daemon.pid, pidBefore);
  const ping = await docker(daemon.host, ['version', '--format', '{{.Server.Version}}']);
  assert.match(ping.stdout.trim(), /^\d+\.\d+/);
  const listed = await docker(daemon.host, ['ps', '-a', '--no-trunc', '--format', '{{.ID}}', '--filter', `label=${TEST_LABEL}`]);
  assert.deepEqual(listed.stdout.trim().split('\n'), [id]);
  // --restart always: the daemon starts it again while restoring
  let status = '';
  for (const deadline = Date.now() + 10_000; status !== 'running' && Date.now() < deadline;) {
    status = (await docker(daemon.host, ['inspect', '--format', '{{.State.Status}}', id])).stdout.trim();
    if (status !== 'running') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(status, 'running');

  assert.equal(await removeAllContainers(daemon.host), 1);
  await daemon.cleanup();
  const gone = await docker(daemon.host, ['version'], { allowFail: true, timeoutMs: 10_000 });
  assert.notEqual(gone.code, 0, 'the daemon still answers after cleanup()');
});
