/**
 * The built agent (dist/main.js) end to end for metrics: its /metrics passes `promtool check
 * metrics`, concurrent scrapes share one sample, a real Prometheus (Debian's package) on
 * 127.0.0.1 scrapes it and the series arrive with their labels, and the Zabbix and container
 * endpoints carry the figures. The same Prometheus loads deploy/prometheus/dockhand-rules.yml:
 * every rule evaluates, every series the rules read is one the agent exports, and
 * DockhandLogShippingStalled fires for the agent's output that nothing answers. Every wait is
 * bounded; Prometheus is stopped afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker } from '../helpers/docker-engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { missing } from '../helpers/requirements.ts';
import { exposedNames, metricNames } from '../helpers/promql.ts';
import { parse } from 'yaml';

const RULES = fileURLToPath(new URL('../../deploy/prometheus/dockhand-rules.yml', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'dockhand-prom-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'zabbix-and-control-plane-token';
writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A tool of Debian's prometheus package; missing is a failure in CI, a skip elsewhere. */
function tool(t: TestContext, name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (!r.error) return true;
  missing(t, `${name} is not installed (apt-get install prometheus): ${r.error.message}`);
  return false;
}

function valueOf(exposition: string, series: RegExp): number {
  const line = exposition.split('\n').find((l) => series.test(l));
  assert.ok(line, `no line matching ${series}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

interface PromResult { metric: Record<string, string>; value: [number, string] }

async function promQuery(base: string, query: string): Promise<PromResult[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data?: { result: PromResult[] }; error?: string };
  assert.equal(body.status, 'success', body.error);
  return body.data?.result ?? [];
}

void describe('/metrics scraped by a real Prometheus; Zabbix and API figures', { timeout: 240_000 }, () => {
  void it('serves cAdvisor-style series that promtool accepts and Prometheus stores, shared between concurrent scrapes', async (t) => {
    const host = await requireDocker(t);
    if (!host) return;
    if (!tool(t, 'promtool') || !tool(t, 'prometheus')) return;
    const image = await ensureTestImage(host);
    t.after(() => removeAllContainers(host));
    const name = `dh-prom-${process.pid}`;
    const id = (await docker(host, ['run', '-d', '--init', '--name', name, '--label', TEST_LABEL, '--label', 'com.example.team=payments', '--network', 'none', image, 'sh', '-c', 'yes > /dev/null'])).stdout.trim();
    // one that has exited, so the lifecycle series the rules read (container_exit_code) exist
    await docker(host, ['run', '--name', `${name}-exited`, '--label', TEST_LABEL, '--network', 'none', image, 'false'], { allowFail: true });
    // nothing listens here: log shipping of this file stalls
    const deadOutput = await freePort();
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'logs', 'weberror_aether_nor_8_778283_20150819.log'), 'a line for Logstash\n');

    const port = await freePort();
    const config = join(dir, 'dockhand.yaml');
    writeFileSync(config, `
state_dir: ${dir}/state
docker:
  host: ${host}
api:
  listen: 127.0.0.1:${port}
  token_file: ${dir}/token
  metrics_auth: false
metrics:
  interval: 2s
  container_labels: [com.example.team]
logs:
  roots: [${dir}/logs]
  stall_warning: 2s
outputs:
  - type: tcp
    hosts: [127.0.0.1:${deadOutput}]
`);
    const agent = new AgentProcess(['run', '--config', config], cleanEnv());
    t.after(() => agent.dispose());
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    await waitFor('agent started', () => agent.find('dockhand started') ?? agent.lines.find((l) => l.level === 'fatal'), 30_000);
    assert.equal(agent.find('dockhand started')?.msg, 'dockhand started', JSON.stringify(agent.lines.at(-1)));
    const cpuSeries = new RegExp(`^container_cpu_usage_seconds_total\\{[^}]*name="${name}"[^}]*\\} `);
    // the first host sample may predate the Docker connection (it is cached 5 s): wait for both
    const exposition = await waitFor('container and Docker series', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.split('\n').some((l) => cpuSeries.test(l)) && /^dockhand_docker_containers\{/m.test(text) ? text : undefined;
    }, 30_000, 200);

    // promtool check metrics: the whole exposition (agent, container, host series)
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    assert.match(exposition, new RegExp(`^container_cpu_usage_seconds_total\\{cpu="total",id="/docker/${id}",image="${image}",name="${name}",container_label_com_example_team="payments"\\} [0-9.]+$`, 'm'));
    assert.doesNotMatch(exposition, /^[a-z_]+(\{[^}]*\})? \S+ \d+$/m, 'no explicit timestamps');
    // host figures: the file system holding Docker's data root is named by path; Docker's own facts
    const rootDir = (await docker(host, ['info', '--format', '{{.DockerRootDir}}'])).stdout.trim();
    const storage = (await docker(host, ['info', '--format', '{{.Driver}}'])).stdout.trim();
    assert.match(exposition, new RegExp(`^dockhand_path_filesystem_avail_bytes\\{path="${rootDir}",mountpoint="[^"]+"\\} \\d+$`, 'm'));
    assert.match(exposition, new RegExp(`^dockhand_docker_info\\{[^}]*storage_driver="${storage}"[^}]*\\} 1$`, 'm'));
    assert.match(exposition, /^dockhand_docker_containers\{state="running"\} [1-9]\d*$/m);
    assert.match(exposition, /^node_memory_swap_total_bytes \d+$/m);

    // two scrapers at once get one sample
    const sharedBefore = valueOf(exposition, /^dockhand_metrics_samples_shared_total /);
    const [a, b] = await Promise.all([fetch(`${base}/metrics`).then((r) => r.text()), fetch(`${base}/metrics`).then((r) => r.text())]);
    assert.equal(valueOf(a, cpuSeries), valueOf(b, cpuSeries), 'the CPU counter of a busy container is identical in both');
    assert.ok(valueOf(b, /^dockhand_metrics_samples_shared_total /) > sharedBefore || valueOf(a, /^dockhand_metrics_samples_shared_total /) > sharedBefore);

    // a real Prometheus scraping the agent every second
    const promPort = await freePort();
    const promDir = mkdtempSync(join(dir, 'prometheus-'));
    writeFileSync(join(promDir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['${RULES}']\nscrape_configs:\n  - job_name: dockhand\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
    const prom: ChildProcess = spawn('prometheus', [
      `--config.file=${join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
    const promExited = new Promise<void>((resolve) => prom.once('exit', () => resolve()));
    t.after(async () => {
      prom.kill('SIGTERM');
      const killer = setTimeout(() => prom.kill('SIGKILL'), 10_000);
      await promExited;
      clearTimeout(killer);
    });
    const promBase = `http://127.0.0.1:${promPort}`;
    await waitFor(`prometheus ready (${promLog.slice(-300)})`, async () => (await fetch(`${promBase}/-/ready`)).ok, 60_000, 250);
    await waitFor('target up', async () => (await promQuery(promBase, 'up{job="dockhand"}'))[0]?.value[1] === '1', 60_000, 500);
    const [cpu] = await waitFor('container series in Prometheus', async () => {
      const r = await promQuery(promBase, `container_cpu_usage_seconds_total{name="${name}"}`);
      return r.length > 0 ? r : undefined;
    }, 60_000, 500);
    assert.equal(cpu?.metric.id, `/docker/${id}`);
    assert.equal(cpu?.metric.image, image);
    assert.equal(cpu?.metric.cpu, 'total');
    assert.equal(cpu?.metric.container_label_com_example_team, 'payments');
    const rate = await waitFor('a CPU rate near one core', async () => {
      const r = await promQuery(promBase, `rate(container_cpu_usage_seconds_total{name="${name}"}[5s])`);
      const v = Number(r[0]?.value[1] ?? 0);
      return v > 0.25 ? v : undefined;
    }, 60_000, 500);
    t.diagnostic(`Prometheus rate(container_cpu_usage_seconds_total[5s]) = ${rate.toFixed(2)} cores`);
    for (const q of ['container_memory_working_set_bytes', 'container_last_seen', 'container_start_time_seconds', 'node_load1', 'node_cpu_seconds_total', 'node_memory_available_bytes', 'dockhand_metrics_sweeps_total']) {
      assert.ok((await promQuery(promBase, q)).length > 0, `${q} arrived`);
    }

    // the shipped rules: every one evaluates, reads only series the agent exports, and the stall
    // of the output nothing answers fires DockhandLogShippingStalled
    const ruleFile = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { expr: string; record?: string; alert?: string }[] }[] };
    const recorded = new Set(ruleFile.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    const scraped = await (await fetch(`${base}/metrics`)).text();
    const exposed = exposedNames(scraped);
    // /readyz's answer as series: not ready while the output is down, Docker itself fine
    assert.match(scraped, /^dockhand_ready 0$/m);
    assert.match(scraped, /^dockhand_ready_check\{check="outputs"\} 0$/m);
    assert.match(scraped, /^dockhand_ready_check\{check="docker"\} 1$/m);
    assert.match(scraped, /^dockhand_log_events_dropped_total\{reason="rejected"\} 0$/m, 'drop counters exist from the start, for increase()');
    for (const rule of ruleFile.groups.flatMap((g) => g.rules)) {
      for (const metric of metricNames(rule.expr)) {
        if (metric === 'up' || recorded.has(metric)) continue; // Prometheus' own, and the rules' own
        assert.ok(exposed.has(metric), `${rule.alert ?? rule.record}: ${metric} is not a series the agent exports`);
      }
    }
    interface PromRule { name: string; health: string; lastError?: string }
    await waitFor('every rule evaluated without error', async () => {
      const body = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as { data: { groups: { rules: PromRule[] }[] } };
      const rules = body.data.groups.flatMap((g) => g.rules);
      assert.equal(rules.length, ruleFile.groups.flatMap((g) => g.rules).length, 'Prometheus loaded every rule');
      const bad = rules.filter((r) => r.health === 'err');
      assert.deepEqual(bad.map((r) => `${r.name}: ${r.lastError}`), []);
      return rules.every((r) => r.health === 'ok');
    }, 30_000, 250);
    interface PromAlert { labels: Record<string, string>; state: string; activeAt: string }
    const stalled = await waitFor('DockhandLogShippingStalled firing', async () => {
      const body = (await (await fetch(`${promBase}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
      return body.data.alerts.find((a) => a.labels.alertname === 'DockhandLogShippingStalled' && a.state === 'firing');
    }, 60_000, 250);
    const seenAt = Date.now();
    assert.equal(stalled.labels.instance, `127.0.0.1:${port}`);
    assert.equal(stalled.labels.severity, 'critical');
    const reported = agent.lines.find((l) => l.event === 'logs.shipping_stalled');
    assert.ok(reported, 'the agent logged the stall');
    const reportedAt = Date.parse(String(reported.time));
    t.diagnostic(`DockhandLogShippingStalled: agent reported the stall at +0 ms, alert active (Prometheus activeAt) at +${Date.parse(stalled.activeAt) - reportedAt} ms, seen firing on /api/v1/alerts at +${seenAt - reportedAt} ms (scrape and evaluation every 1 s)`);

    // the control plane's view: stats and rates per container, host figures
    const details = (await (await fetch(`${base}/v1/containers/${name}`, { headers: auth })).json()) as { stats: { source: string; cpu: { percent: number | null }; memory: { workingSetBytes: number } } | null; lifecycle: { lastSeen: string } };
    assert.equal(details.stats?.source, 'cgroup');
    assert.ok((details.stats?.cpu.percent ?? 0) > 40, `CPU % in /v1/containers: ${details.stats?.cpu.percent}`);
    assert.ok(Date.parse(details.lifecycle.lastSeen) > Date.now() - 60_000);
    const hostDoc = (await (await fetch(`${base}/v1/host`, { headers: auth })).json()) as { network: { name: string }[]; memory: { buffersBytes: number }; cpu: { load: number[] } };
    assert.ok(Array.isArray(hostDoc.network) && hostDoc.network.length > 0);
    assert.equal(typeof hostDoc.memory.buffersBytes, 'number');

    // Zabbix: discovery, per-container document, agent document; the token is required there
    assert.equal((await fetch(`${base}/v1/zabbix/containers`)).status, 401);
    const lld = (await (await fetch(`${base}/v1/zabbix/containers`, { headers: auth })).json()) as { data: Record<string, string>[] };
    const row = lld.data.find((r) => r['{#CONTAINER.NAME}'] === name);
    assert.equal(row?.['{#CONTAINER.ID}'], id);
    assert.equal(row?.['{#CONTAINER.LABEL.COM.EXAMPLE.TEAM}'], 'payments');
    const doc = (await (await fetch(`${base}/v1/zabbix/containers/${name}`, { headers: auth })).json()) as { running: number; cpu: { percent: number } };
    assert.equal(doc.running, 1);
    assert.ok(doc.cpu.percent > 40, `Zabbix CPU %: ${doc.cpu.percent}`);
    const agentDoc = (await (await fetch(`${base}/v1/zabbix/agent`, { headers: auth })).json()) as { docker: { up: number }; containers: { running: number } };
    assert.equal(agentDoc.docker.up, 1);
    assert.ok(agentDoc.containers.running >= 1);
    assert.equal((await fetch(`${base}/v1/zabbix/logs`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${base}/v1/zabbix/probes`, { headers: auth })).status, 200);

    agent.child.kill('SIGTERM');
    const { code } = await agent.exited;
    assert.equal(code, 0, `exit code after SIGTERM; last log lines:\n${agent.lines.slice(-6).map((l) => JSON.stringify(l)).join('\n')}`);
  });
});
