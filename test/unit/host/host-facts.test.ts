import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, it } from 'node:test';
import { cpuModelName, parseMeminfo, parseOsRelease, readFileSystems, readOsFacts } from '../../../src/host/host-facts.ts';

void describe('host facts from the kernel and the distribution', () => {
  void it('os-release: NAME and VERSION_ID, quoted or not', () => {
    assert.deepEqual(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'), { distro: 'Debian GNU/Linux', release: '12' });
    assert.deepEqual(parseOsRelease("NAME='Alpine Linux'\nVERSION_ID=3.20.1\n"), { distro: 'Alpine Linux', release: '3.20.1' });
    assert.deepEqual(parseOsRelease('ID=arch\n# comment\n'), { distro: 'arch', release: '' }, 'rolling: no version');
    assert.deepEqual(parseOsRelease('NAME="say \\"hi\\""\n'), { distro: 'say "hi"', release: '' });
  });

  void it('CPU model names without trademarks, "CPU" or the nominal clock', () => {
    assert.equal(cpuModelName('Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz'), 'Intel Xeon E5-2680 v4');
    assert.equal(cpuModelName('AMD EPYC 7763 64-Core Processor'), 'AMD EPYC 7763 64-Core Processor');
    assert.equal(cpuModelName('Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz'), 'Intel Core i7-8650U');
    assert.equal(cpuModelName(''), '');
  });

  void it('meminfo in bytes; used is total − available; an old kernel without MemAvailable', () => {
    const m = parseMeminfo('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\nBuffers:          50 kB\nCached:          300 kB\nSwapTotal:       200 kB\nSwapFree:        150 kB\nHugePages_Total:       0\n');
    assert.deepEqual(m, { total: 1024000, free: 102400, available: 614400, used: 409600, buffers: 51200, cached: 307200, swapTotal: 204800, swapFree: 153600, swapUsed: 51200 });
    assert.equal(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 300 kB\n').available, 450 * 1024);
  });

  void it("this host: the figures df and the kernel show", async () => {
    const ours = await readFileSystems();
    const root = ours.find((f) => f.mount === '/');
    assert.ok(root, `/ is listed: ${ours.map((f) => f.mount).join(' ')}`);
    assert.ok(!ours.some((f) => ['proc', 'sysfs', 'cgroup2', 'devpts', 'mqueue'].includes(f.type)), 'no pseudo file systems');
    const paths = ours.map((f) => f.mount);
    assert.equal(new Set(paths).size, paths.length, `each mount point once: ${paths.join(' ')}`);
    // df -P -k: 1024-byte blocks, rounded up; used and available move while the suite writes
    const df = execFileSync('df', ['-P', '-k', '/'], { encoding: 'utf8' }).trim().split('\n')[1]?.split(/\s+/) ?? [];
    assert.equal(Math.ceil(root.size / 1024), Number(df[1]), 'size');
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(64 * 1024 * 1024, b * 0.01);
    assert.ok(near(root.used, Number(df[2]) * 1024), `used ${root.used} vs df ${df[2]} kB`);
    assert.ok(near(root.available, Number(df[3]) * 1024), `available ${root.available} vs df ${df[3]} kB`);
    assert.ok(Math.abs(root.usePercent - Number(df[4]?.replace('%', ''))) <= 1, `use ${root.usePercent} vs df ${df[4]}`);

    const mem = parseMeminfo(readFileSync('/proc/meminfo', 'latin1'));
    assert.equal(mem.total, os.totalmem());
    assert.ok(mem.available > 0 && mem.available <= mem.total);

    const facts = readOsFacts();
    assert.equal(facts.platform, 'linux');
    assert.equal(facts.kernel, os.release());
    assert.ok(facts.distro.length > 0, 'a distribution name from os-release');
  });
});
