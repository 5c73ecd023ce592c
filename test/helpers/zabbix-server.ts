// A real Zabbix 6.0 server for the suite, from Debian's packages (zabbix-server-pgsql,
// zabbix-frontend-php, php-pgsql, php-cli, postgresql): its own PostgreSQL cluster, zabbix_server
// and the PHP frontend (for the JSON-RPC API) in one temp dir, all on 127.0.0.1, nothing written
// under /etc. Started once by test/integration/zabbix.test.ts; about 10 s on the CI machine.
//
// Quirks that shaped it:
// - data.sql holds ~130,000 single-row INSERTs (the shipped templates): fed to psql as they are
//   they take ~30 s, as multi-row INSERTs of 500 rows ~3 s (mergeInserts below).
// - The Debian frontend reads only /etc/zabbix/zabbix.conf.php (a constant in
//   include/classes/core/CConfigFile.php), so the frontend is copied into the temp dir with that
//   constant pointing at the temp dir's file, and served by `php -S`.
// - zabbix_server refuses a ListenPort above 32767 and refuses to run as root without AllowRoot;
//   initdb and postgres refuse to run as root, so they run as the `postgres` user when we are root.
// - Every daemon runs in its own process group (zabbix_server forks ~25 children, which keep
//   their parent's group), so stop() and a later run's reaping take all of it down.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { freePort } from './ports.ts';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const SQL_DIR = '/usr/share/zabbix-server-pgsql';
const FRONTEND = '/usr/share/zabbix';
const ZABBIX_SERVER = '/usr/sbin/zabbix_server';
const DIR_PREFIX = 'dockhand-zabbix-';
const READY_TIMEOUT_MS = 60_000;

/** What .ci/run installs for this helper. */
export const ZABBIX_PACKAGES = ['postgresql', 'zabbix-server-pgsql', 'zabbix-frontend-php', 'php-pgsql', 'php-cli'];

/** Why a Zabbix server cannot be started here, or undefined when everything is installed. */
export async function zabbixMissing(): Promise<string | undefined> {
  for (const file of [`${PG_BIN}/initdb`, `${PG_BIN}/postgres`, ZABBIX_SERVER, `${SQL_DIR}/schema.sql.gz`, `${FRONTEND}/api_jsonrpc.php`, '/usr/bin/psql']) {
    if (!existsSync(file)) return `${file} is missing (apt-get install ${ZABBIX_PACKAGES.join(' ')})`;
  }
  const php = await run('php', ['-m']).catch((err: unknown) => ({ stdout: '', stderr: String(err) }));
  if (!/^pgsql$/m.test(php.stdout)) return `php with the pgsql module is missing (apt-get install php-cli php-pgsql): ${php.stderr.trim()}`;
  return undefined;
}

interface RunOptions { input?: string | Buffer; uid?: number; gid?: number; timeoutMs?: number }

function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
    child.stdin.on('error', () => undefined); // a command that fails early closes its stdin
    child.stdin.end(opts.input);
  });
}

/**
 * Merges runs of single-row `INSERT INTO t (cols) values (…);` for the same table and columns into
 * multi-row INSERTs of at most `rows` rows, keeping every statement's order. Statements end at a
 * `;` outside string literals: '…' with '' doubling, and E'…' where a backslash escapes too.
 */
export function mergeInserts(sql: string, rows = 500): string {
  const statements: string[] = [];
  let start = 0;
  let quote: 'plain' | 'escape' | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote === 'escape' && c === '\\') i++;
    else if (c === "'") {
      if (quote === null) quote = /[Ee]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? '') ? 'escape' : 'plain';
      else if (sql[i + 1] === "'") i++; // a doubled quote inside the literal
      else quote = null;
    } else if (c === ';' && quote === null) {
      statements.push(sql.slice(start, i).trim());
      start = i + 1;
    }
  }
  const tail = sql.slice(start).trim();
  if (tail !== '') statements.push(tail);
  const out: string[] = [];
  let prefix: string | null = null;
  let values: string[] = [];
  const flush = (): void => {
    if (prefix !== null) out.push(prefix + values.join(','));
    prefix = null;
    values = [];
  };
  for (const s of statements) {
    const head = /^INSERT INTO \S+ \([^)]*\) values /i.exec(s)?.[0];
    if (head === undefined) {
      flush();
      out.push(s);
      continue;
    }
    if (head !== prefix || values.length >= rows) {
      flush();
      prefix = head;
    }
    values.push(s.slice(head.length));
  }
  flush();
  return `${out.filter((s) => s !== '').join(';\n')};\n`;
}

/** The Zabbix JSON-RPC API (api_jsonrpc.php); `login()` once, then `call()`. */
export class ZabbixApi {
  readonly url: string;
  #auth: string | null = null;

  constructor(url: string) {
    this.url = url;
  }

  async login(user = 'Admin', password = 'zabbix'): Promise<void> {
    this.#auth = await this.call<string>('user.login', { username: user, password });
  }

  async call<T>(method: string, params: unknown): Promise<T> {
    const body: Record<string, unknown> = { jsonrpc: '2.0', method, params, id: 1 };
    if (this.#auth !== null && method !== 'apiinfo.version') body.auth = this.#auth;
    const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json-rpc' }, body: JSON.stringify(body) });
    const text = await res.text();
    let answer: { result?: T; error?: { message: string; data: string } };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new Error(`${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
    }
    if (answer.error) throw new Error(`${method}: ${answer.error.message} ${answer.error.data}`);
    return answer.result as T;
  }
}

export interface ZabbixServer {
  readonly api: ZabbixApi;
  readonly dir: string;
  /** Milliseconds spent in each start-up step. */
  readonly timings: Readonly<Record<string, number>>;
  /** `zabbix_server -R config_cache_reload`: new hosts and discovered items are polled at once. */
  reloadConfigCache(): Promise<void>;
  /** "Execute now" (task type 6) for items and discovery rules. */
  checkNow(itemids: readonly string[]): Promise<void>;
  serverLog(): Promise<string>;
  stop(): Promise<void>;
}

/** A port zabbix_server accepts (1024–32767) that was free a moment ago. */
async function listenPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 32000 for zabbix_server');
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, but there is no postgres user to run PostgreSQL as (apt-get install postgresql)');
  return { uid: Number(uid), gid: Number(gid) };
}

class Daemon {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<void>;

  constructor(cmd: string, args: string[], opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}) {
    // its own process group: stop() signals the group, children included
    this.child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }) });
    const keep = (b: Buffer): void => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    try { process.kill(-pid, signal); } catch { /* gone */ }
    const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    await this.exited;
    clearTimeout(timer);
    // children that outlive their parent's exit (zabbix_server's, on a hurried stop)
    try { process.kill(-pid, 'SIGKILL'); } catch { /* none left */ }
  }
}

async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, daemon: Daemon, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(probe).catch(() => false)) return;
    if (!daemon.running) throw new Error(`${what}: the process exited: ${daemon.output.slice(-2000)}`);
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${daemon.output.slice(-2000)}`);
}

/**
 * Kills what an earlier run left when its test process was killed before its after hooks: every
 * process whose command line names a dir of ours whose owner is gone (its whole process group),
 * then the dir. zabbix_server's children rename themselves, but share the main process's group.
 */
async function reapOrphans(): Promise<void> {
  const base = tmpdir();
  for (const name of await readdir(base).catch(() => [])) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(base, name);
    const owner = Number.parseInt(await readFile(path.join(dir, 'owner'), 'utf8').catch(() => ''), 10);
    if (owner > 0 && existsSync(`/proc/${owner}`)) continue;
    for (const entry of await readdir('/proc').catch(() => [])) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes(`${dir}/`)) continue;
      const pgid = Number((await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ')[2]);
      try { process.kill(pgid > 1 ? -pgid : Number(entry), 'SIGKILL'); } catch { /* gone */ }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function serverConfig(dir: string, pgPort: number, listenPortNumber: number): string {
  return [
    `LogFile=${dir}/zabbix/server.log`,
    `PidFile=${dir}/zabbix/server.pid`,
    `SocketDir=${dir}/zabbix`,
    'DBHost=127.0.0.1',
    `DBPort=${pgPort}`,
    'DBName=zabbix',
    'DBUser=zabbix',
    'DBPassword=zabbix',
    'ListenIP=127.0.0.1',
    `ListenPort=${listenPortNumber}`,
    // a handful of each process kind: one host, a few dozen items
    'StartPollers=2',
    'StartPollersUnreachable=1',
    'StartPreprocessors=1',
    'StartTrappers=1',
    'StartPingers=0',
    'StartDiscoverers=0',
    'StartHTTPPollers=1',
    'StartTimers=1',
    'StartEscalators=1',
    'StartAlerters=1',
    'StartDBSyncers=1',
    'StartLLDProcessors=1',
    'StartHistoryPollers=1',
    'HousekeepingFrequency=0',
    'Timeout=10',
    ...(process.getuid?.() === 0 ? ['AllowRoot=1'] : []),
    '',
  ].join('\n');
}

function frontendConfig(pgPort: number, serverPort: number): string {
  return `<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '127.0.0.1';
$DB['PORT'] = '${pgPort}';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'zabbix';
$DB['PASSWORD'] = 'zabbix';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = '${serverPort}';
$ZBX_SERVER_NAME = 'dockhand-test';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
`;
}

/** Starts PostgreSQL, zabbix_server and the frontend; logs in as Admin. Call stop() when done. */
export async function startZabbix(): Promise<ZabbixServer> {
  await reapOrphans();
  const timings: Record<string, number> = {};
  let mark = Date.now();
  const step = (name: string): void => {
    const now = Date.now();
    timings[name] = now - mark;
    mark = now;
  };
  const started = Date.now();
  const dir = await mkdtemp(path.join(tmpdir(), DIR_PREFIX));
  await chmod(dir, 0o755); // postgres must reach its data dir inside
  await writeFile(path.join(dir, 'owner'), `${process.pid}\n`);
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    for (const d of [...daemons].reverse()) await d.stop(d === daemons[0] ? 'SIGINT' : 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // PostgreSQL: its own cluster, fsync off (a test database), on 127.0.0.1 and a socket in dir
    const pg = await postgresUser();
    const pgData = path.join(dir, 'pg');
    const pgSocket = path.join(dir, 'pgsock');
    for (const d of [pgData, pgSocket]) {
      await mkdir(d, { mode: 0o700 });
      if (pg) await chown(d, pg.uid, pg.gid);
    }
    await run(`${PG_BIN}/initdb`, ['-D', pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], pg ?? {});
    const pgPort = await freePort();
    const postgres = new Daemon(`${PG_BIN}/postgres`, ['-D', pgData, '-p', String(pgPort), '-k', pgSocket, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'wal_level=minimal', '-c', 'max_wal_senders=0', '-c', 'max_wal_size=4GB', '-c', 'checkpoint_timeout=1h', '-c', 'shared_buffers=128MB', '-c', 'autovacuum=off'], pg ?? {});
    daemons.push(postgres);
    const psql = (db: string, user: string, input: string): Promise<unknown> => run('psql', ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-h', pgSocket, '-p', String(pgPort), '-U', user, db], { input });
    await waitUntil('PostgreSQL accepting connections', async () => (await psql('postgres', 'postgres', 'select 1;'), true), postgres);
    step('postgres');

    // copied while the database is loaded; an error is kept until it is awaited
    const frontend = (async (): Promise<Error | null> => {
      const web = path.join(dir, 'web');
      await cp(FRONTEND, web, { recursive: true, verbatimSymlinks: true });
      const configFile = path.join(web, 'include/classes/core/CConfigFile.php');
      const php = await readFile(configFile, 'utf8');
      const patched = php.replace(/const CONFIG_FILE_PATH = '[^']*';/, `const CONFIG_FILE_PATH = '${dir}/zabbix.conf.php';`);
      if (patched === php) throw new Error(`${configFile}: CONFIG_FILE_PATH not found; the frontend package changed`);
      await writeFile(configFile, patched);
      return null;
    })().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));

    await psql('postgres', 'postgres', "create user zabbix password 'zabbix'; create database zabbix owner zabbix encoding 'UTF8' template template0;");
    const sql = (name: string): string => gunzipSync(readFileSync(`${SQL_DIR}/${name}.sql.gz`)).toString('utf8');
    await psql('zabbix', 'zabbix', sql('schema'));
    step('schema.sql');
    await psql('zabbix', 'zabbix', sql('images'));
    await psql('zabbix', 'zabbix', mergeInserts(sql('data')));
    step('images.sql, data.sql');

    const serverPort = await listenPort();
    await mkdir(path.join(dir, 'zabbix'));
    const conf = path.join(dir, 'zabbix_server.conf');
    await writeFile(conf, serverConfig(dir, pgPort, serverPort));
    const server = new Daemon(ZABBIX_SERVER, ['-f', '-c', conf]);
    daemons.push(server);
    const serverLog = (): Promise<string> => readFile(path.join(dir, 'zabbix', 'server.log'), 'utf8').catch(() => '');
    await waitUntil('zabbix_server pollers', async () => (await serverLog()).includes('started [poller #1]'), server);
    step('server');

    const copyFailed = await frontend;
    if (copyFailed) throw copyFailed;
    await writeFile(path.join(dir, 'zabbix.conf.php'), frontendConfig(pgPort, serverPort));
    const phpPort = await freePort();
    const php = new Daemon('php', ['-d', 'memory_limit=512M', '-d', 'max_execution_time=300', '-d', 'post_max_size=16M', '-S', `127.0.0.1:${phpPort}`, '-t', path.join(dir, 'web')]);
    daemons.push(php);
    const api = new ZabbixApi(`http://127.0.0.1:${phpPort}/api_jsonrpc.php`);
    await waitUntil('the Zabbix API', async () => /^6\.0\./.test(await api.call<string>('apiinfo.version', {})), php);
    await api.login();
    step('frontend');
    timings.total = Date.now() - started;

    return {
      api,
      dir,
      timings,
      reloadConfigCache: async () => {
        await run(ZABBIX_SERVER, ['-c', conf, '-R', 'config_cache_reload']);
      },
      checkNow: async (itemids) => {
        if (itemids.length > 0) await api.call('task.create', itemids.map((itemid) => ({ type: 6, request: { itemid } })));
      },
      serverLog,
      stop,
    };
  } catch (err) {
    const logs = daemons.map((d) => d.output.slice(-1500)).join('\n---\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}
