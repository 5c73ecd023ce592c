/**
 * Every check the audit runs: a stable id (what `audit.exclude`, the API, the metric's `check`
 * label and Zabbix discovery use), the CIS Docker Benchmark v1.6.0 recommendation it follows
 * (null where the benchmark has none), a severity and a one-line remediation. docs/audit.md
 * explains each one; a unit test keeps the two in step.
 */

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export type CheckScope = 'daemon' | 'files' | 'container' | 'certificate' | 'registry';

export interface CheckDefinition {
  id: string;
  scope: CheckScope;
  cis: string | null;
  severity: Severity;
  title: string;
  remediation: string;
}

type Row = [id: string, cis: string | null, severity: Severity, title: string, remediation: string];

function define(scope: CheckScope, rows: Row[]): CheckDefinition[] {
  return rows.map(([id, cis, severity, title, remediation]) => ({ id, scope, cis, severity, title, remediation }));
}

export const CHECKS: readonly CheckDefinition[] = [
  ...define('daemon', [
    ['daemon.tcp_without_tls', '2.7', 'critical', 'Docker API on TCP without TLS verification', 'Listen on TCP only with --tlsverify, --tlscacert, --tlscert and --tlskey (or drop the tcp:// host).'],
    ['daemon.icc', '2.2', 'medium', 'Inter-container communication on the default bridge', 'Set "icc": false in daemon.json and link containers through user-defined networks.'],
    ['daemon.no_live_restore', '2.15', 'low', 'Live restore disabled', 'Set "live-restore": true in daemon.json so containers survive a daemon restart.'],
    ['daemon.no_userns_remap', '2.9', 'medium', 'User namespace remapping disabled', 'Set "userns-remap": "default" in daemon.json (test your images first).'],
    ['daemon.no_new_privileges', '2.14', 'medium', 'Containers may gain new privileges by default', 'Set "no-new-privileges": true in daemon.json.'],
    ['daemon.no_default_ulimits', '2.8', 'low', 'No default ulimits', 'Set "default-ulimits" (e.g. nofile, nproc) in daemon.json.'],
    ['daemon.log_unbounded', null, 'medium', 'Container logs without a size limit', 'Set "log-opts": {"max-size": "…", "max-file": "…"} for the json-file/local log driver in daemon.json.'],
    ['daemon.experimental', '2.18', 'low', 'Experimental features enabled', 'Remove "experimental": true from daemon.json on production hosts.'],
    ['daemon.insecure_registries', '2.5', 'high', 'Insecure registries configured', 'Remove "insecure-registries"; give the registry a certificate and its CA in /etc/docker/certs.d/<registry>/ca.crt.'],
  ]),
  ...define('files', [
    ['files.docker_socket', '3.15, 3.16', 'high', 'Docker socket ownership or mode', 'chown root:docker /var/run/docker.sock && chmod 660 /var/run/docker.sock.'],
    ['files.etc_docker', '3.5, 3.6', 'medium', '/etc/docker ownership or mode', 'chown root:root /etc/docker && chmod 755 /etc/docker.'],
    ['files.daemon_json', '3.17, 3.18', 'medium', 'daemon.json ownership or mode', 'chown root:root /etc/docker/daemon.json && chmod 644 /etc/docker/daemon.json.'],
    ['files.tls_key', '3.13, 3.14', 'high', 'Daemon TLS key ownership or mode', 'chown root:root <key> && chmod 400 <key>.'],
  ]),
  ...define('container', [
    ['container.privileged', '5.4', 'critical', 'Privileged container', 'Run without --privileged; add only the capabilities and devices the workload needs.'],
    ['container.host_network', '5.9', 'high', 'Host network namespace shared', 'Run without --network host; publish the ports the service needs.'],
    ['container.host_pid', '5.15', 'high', 'Host PID namespace shared', 'Run without --pid host.'],
    ['container.host_ipc', '5.16', 'high', 'Host IPC namespace shared', 'Run without --ipc host.'],
    ['container.host_uts', '5.20', 'medium', 'Host UTS namespace shared', 'Run without --uts host.'],
    ['container.docker_socket', '5.31', 'critical', 'Docker socket mounted', 'Do not mount the Docker socket; give the tool a narrowed API proxy if it needs one.'],
    ['container.sensitive_mount', '5.5', 'high', 'Sensitive host path mounted', 'Do not mount /, /boot, /etc, /proc, /sys or /var/lib/docker; mount the one file or directory needed, read-only.'],
    ['container.dangerous_capabilities', '5.3', 'high', 'Dangerous capabilities added', 'Drop the added capabilities (--cap-drop ALL, then --cap-add only what is needed).'],
    ['container.seccomp_unconfined', '5.21', 'high', 'Seccomp disabled', 'Run without --security-opt seccomp=unconfined (the default profile, or a custom one).'],
    ['container.apparmor_unconfined', '5.1', 'medium', 'AppArmor disabled', 'Run without --security-opt apparmor=unconfined.'],
    ['container.root_user', '4.1', 'medium', 'Running as root', 'Run as an unprivileged user (USER in the image or --user).'],
    ['container.no_memory_limit', '5.10', 'low', 'No memory limit', 'Set --memory.'],
    ['container.no_pids_limit', '5.28', 'low', 'No PIDs limit', 'Set --pids-limit.'],
    ['container.no_cpu_shares', '5.11', 'low', 'No CPU shares or CPU limit', 'Set --cpu-shares (or --cpus).'],
    ['container.writable_rootfs', '5.12', 'low', 'Writable root file system', 'Run with --read-only and tmpfs or volumes for the paths written.'],
    ['container.privileged_port', '5.7, 5.13', 'medium', 'Privileged port published on all addresses', 'Publish on one host address (-p 10.0.0.5:80:80) or a port above 1023.'],
    ['container.restart_unbounded', '5.14', 'low', 'on-failure restart without a maximum', 'Use --restart on-failure:5.'],
    ['container.no_healthcheck', '5.26', 'low', 'No health check and no dockhand probe', 'Add a HEALTHCHECK to the image or a dockhand.probe.* label.'],
    ['container.image_unpinned', null, 'info', 'Image by tag latest or without a digest', 'Reference the image by a version tag and digest (repo/app:1.4@sha256:…).'],
  ]),
  ...define('certificate', [
    ['cert.expiring', null, 'high', 'Certificate expires within 30 days (or has expired)', 'Renew the certificate and replace the file.'],
    ['cert.unreadable', null, 'medium', 'Certificate or key file that cannot be parsed', 'Replace the file with a PEM certificate (and its key).'],
    ['cert.key_mismatch', null, 'high', 'Key does not match its certificate', 'Install the key the certificate was issued for.'],
  ]),
  ...define('registry', [
    ['registry.tls', null, 'high', 'Registry TLS handshake fails with the CA Docker would use', 'Put the CA that signed the registry\'s chain in /etc/docker/certs.d/<registry>/ca.crt.'],
  ]),
];

const BY_ID = new Map(CHECKS.map((c) => [c.id, c]));

export function checkDefinition(id: string): CheckDefinition {
  const c = BY_ID.get(id);
  if (!c) throw new Error(`unknown audit check ${id}`);
  return c;
}
