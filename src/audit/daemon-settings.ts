/**
 * The daemon's effective settings as far as the audit needs them: its command line (from
 * /proc/<pid>/cmdline) merged with its configuration file (daemon.json). Pure parsing; the
 * gathering is in host-inputs.ts.
 */

export interface DaemonSettings {
  hosts: string[];
  tlsverify: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  icc?: boolean;
  liveRestore?: boolean;
  usernsRemap?: string;
  noNewPrivileges?: boolean;
  defaultUlimits: string[];
  logDriver?: string;
  logOpts: Record<string, string>;
  experimental?: boolean;
  insecureRegistries: string[];
  registryMirrors: string[];
  configFile?: string;
}

/** dockerd flags that take no value (`--flag` = true, `--flag=false`). */
const BOOLEAN_FLAGS = new Set([
  'tls', 'tlsverify', 'icc', 'live-restore', 'experimental', 'no-new-privileges', 'iptables', 'ip6tables', 'ip-forward', 'ip-masq',
  'userland-proxy', 'debug', 'D', 'selinux-enabled', 'ipv6', 'init', 'raw-logs', 'validate', 'rootless', 'help', 'version', 'v',
]);

export interface ParsedArgs {
  values: Map<string, string[]>;
  booleans: Map<string, boolean>;
}

/** dockerd's argv (after argv[0]): `--flag value`, `--flag=value`, `-H value`, boolean flags. */
export function parseDaemonArgs(argv: readonly string[]): ParsedArgs {
  const values = new Map<string, string[]>();
  const booleans = new Map<string, boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--?([A-Za-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) continue;
    let name = m[1] ?? '';
    if (name === 'H') name = 'host';
    let value = m[2];
    if (BOOLEAN_FLAGS.has(name)) {
      booleans.set(name, value === undefined ? true : value !== 'false');
      continue;
    }
    if (value === undefined) value = argv[++i] ?? '';
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { values, booleans };
}

function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The command line wins over the file where both set a key (dockerd refuses such a conflict anyway). */
export function daemonSettings(args: ParsedArgs, json: Record<string, unknown>): DaemonSettings {
  const last = (k: string): string | undefined => args.values.get(k)?.at(-1);
  const all = (k: string): string[] => args.values.get(k) ?? [];
  const str = (k: string): string | undefined => (typeof json[k] === 'string' ? json[k] : undefined);
  const logOpts: Record<string, string> = {};
  const fileOpts = json['log-opts'];
  if (typeof fileOpts === 'object' && fileOpts !== null) for (const [k, v] of Object.entries(fileOpts)) if (typeof v === 'string') logOpts[k] = v;
  for (const o of all('log-opt')) {
    const eq = o.indexOf('=');
    if (eq > 0) logOpts[o.slice(0, eq)] = o.slice(eq + 1);
  }
  const ulimits = json['default-ulimits'];
  const settings: DaemonSettings = {
    hosts: [...all('host'), ...strings(json.hosts)],
    tlsverify: args.booleans.get('tlsverify') ?? bool(json.tlsverify) ?? false,
    defaultUlimits: [...all('default-ulimit'), ...(typeof ulimits === 'object' && ulimits !== null ? Object.keys(ulimits) : [])],
    logOpts,
    insecureRegistries: [...all('insecure-registry'), ...strings(json['insecure-registries'])],
    registryMirrors: [...all('registry-mirror'), ...strings(json['registry-mirrors'])],
  };
  const optional: Partial<DaemonSettings> = {
    tlscacert: last('tlscacert') ?? str('tlscacert'),
    tlscert: last('tlscert') ?? str('tlscert'),
    tlskey: last('tlskey') ?? str('tlskey'),
    icc: args.booleans.get('icc') ?? bool(json.icc),
    liveRestore: args.booleans.get('live-restore') ?? bool(json['live-restore']),
    usernsRemap: last('userns-remap') ?? str('userns-remap'),
    noNewPrivileges: args.booleans.get('no-new-privileges') ?? bool(json['no-new-privileges']),
    logDriver: last('log-driver') ?? str('log-driver'),
    experimental: args.booleans.get('experimental') ?? bool(json.experimental),
    configFile: last('config-file'),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (settings as unknown as Record<string, unknown>)[k] = v;
  return settings;
}

/** Does this dockerd serve the socket the agent talks to? (`-H` lists it, or none given and it is the default.) */
export function servesSocket(hosts: readonly string[], socketPath: string): boolean {
  const unix = hosts.filter((h) => h.startsWith('unix://')).map((h) => h.slice('unix://'.length));
  if (hosts.length === 0 || (hosts.every((h) => !h.startsWith('unix://')) && hosts.some((h) => h.startsWith('fd://')))) {
    return socketPath === '/var/run/docker.sock' || socketPath === '/run/docker.sock';
  }
  return unix.includes(socketPath);
}
