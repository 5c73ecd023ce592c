/**
 * A Debian 12 "host" in a container on the test engine (images from debian-images.ts):
 *
 * - `minbase`: no init, no network (`--network none`): a fresh minimal host, and proof that what
 *   runs there needs nothing from outside (apt-get installs the .deb offline);
 * - `systemd`: systemd as PID 1 on the host network, so `systemctl`, journald and the maintainer
 *   scripts' start and restart work as on a real host. `--privileged` is not available, so:
 *   SYS_ADMIN, no seccomp filter, the host's cgroup namespace and a writable /sys/fs/cgroup.
 */
import { TEST_LABEL, docker } from './docker-engine.ts';
import type { DockerResult } from './docker-engine.ts';
import { debianImage } from './debian-images.ts';
import type { DebianFlavour } from './debian-images.ts';
import { waitFor } from './wait.ts';

export interface DebianHostOptions {
  /** `host:container[:ro]` bind mounts. */
  mounts?: string[];
  /** Capabilities beyond Docker's default set (a real host's root has them all). */
  capAdd?: string[];
}

let n = 0;

export class DebianHost {
  readonly engine: string;
  readonly name: string;

  private constructor(engine: string, name: string) {
    this.engine = engine;
    this.name = name;
  }

  static async start(engine: string, flavour: DebianFlavour, options: DebianHostOptions = {}): Promise<DebianHost> {
    const name = `dockhand-test-${flavour}-${process.pid}-${++n}`;
    const mounts = (options.mounts ?? []).flatMap((m) => ['-v', m]);
    const caps = (options.capAdd ?? []).flatMap((c) => ['--cap-add', c]);
    const common = ['run', '-d', '--name', name, '--label', TEST_LABEL, '--hostname', name.slice(0, 60), ...mounts, ...caps];
    const args = flavour === 'systemd'
      ? [...common, '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--cgroupns', 'host',
        '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run', '--tmpfs', '/run/lock', '--network', 'host',
        debianImage(flavour), '/sbin/init']
      // --init: something must reap what `docker exec … &` leaves behind (sleep would not)
      : [...common, '--init', '--network', 'none', debianImage(flavour), 'sleep', 'infinity'];
    await docker(engine, args);
    const host = new DebianHost(engine, name);
    if (flavour === 'systemd') {
      await waitFor('systemd in the container to finish booting', async () => {
        const r = await host.sh('systemctl is-system-running', { allowFail: true });
        return ['running', 'degraded'].includes(r.stdout.trim());
      }, 60_000, 250);
    }
    return host;
  }

  /** Runs `script` with sh in the container (as root). */
  sh(script: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<DockerResult> {
    return docker(this.engine, ['exec', this.name, 'sh', '-c', script], { allowFail: opts.allowFail ?? false, timeoutMs: opts.timeoutMs ?? 120_000 });
  }

  async remove(): Promise<void> {
    await docker(this.engine, ['rm', '-f', '-v', this.name], { allowFail: true, timeoutMs: 60_000 });
  }
}
