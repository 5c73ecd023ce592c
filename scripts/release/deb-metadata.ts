// The texts of the Debian package that are derived from the release: DEBIAN/control,
// /usr/share/doc/dockhand/copyright and changelog.
import type { ProdPackage, ReleaseInputs } from './inputs.ts';

/** Default Maintainer field; DOCKHAND_DEB_MAINTAINER sets the team that publishes the package. */
const DEFAULT_MAINTAINER = 'dockhand maintainers <dockhand@example.net>';

export function maintainer(): string {
  return process.env.DOCKHAND_DEB_MAINTAINER || DEFAULT_MAINTAINER;
}

/**
 * The Debian version of a release version: a semver pre-release (`1.2.0-rc.1`) becomes
 * `1.2.0~rc.1`, which sorts before `1.2.0` as it should (and a `-` would read as a Debian revision).
 */
export function debianVersion(version: string): string {
  return version.replaceAll('-', '~');
}

export interface ControlFields {
  version: string;
  installedSizeKiB: number;
  /** The shared-library dependencies dpkg-shlibdeps found for the bundled node. */
  shlibsDepends: string;
}

export function controlFile(f: ControlFields): string {
  return `Package: dockhand
Version: ${f.version}
Architecture: amd64
Maintainer: ${maintainer()}
Installed-Size: ${f.installedSizeKiB}
Depends: ${f.shlibsDepends}, passwd
Suggests: docker.io | docker-ce
Section: admin
Priority: optional
Description: node-level agent for Docker hosts
 dockhand runs on every Docker host of a private container cloud: it keeps a
 live inventory of the host's containers from Docker events, ships the log
 files of the log directory to Logstash at least once (Beats, TCP json_lines
 or HTTP), samples container and host metrics for Prometheus and Zabbix, runs
 health probes with restart policies, and serves host and container status to
 the control plane over an authenticated HTTP API.
 .
 The package bundles the Node.js 24 runtime it runs on (under
 /usr/lib/dockhand); it does not use a node installed on the host.
`;
}

function packageName(p: ProdPackage): string {
  return p.key.slice(p.key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Plain-text copyright file: dockhand's license, the runtime's, and each bundled package's. */
export function copyrightFile(inputs: ReleaseInputs): string {
  const rows = inputs.packages
    .map((p) => `  ${packageName(p)} ${p.version}: ${p.license}`)
    .sort();
  return `dockhand ${inputs.version}

Copyright ${new Date(inputs.sourceDateEpoch * 1000).getUTCFullYear()} the dockhand authors.
dockhand is licensed under the Apache License, Version 2.0 (${inputs.license}).
On Debian systems, the full text of the Apache License, Version 2.0 is in
/usr/share/common-licenses/Apache-2.0.

Bundled Node.js runtime (/usr/lib/dockhand/node): Node.js ${inputs.nodeVersion}, under the
MIT license, with third-party components under their own licenses; the full text of all
of them is in /usr/lib/dockhand/node/LICENSE.

Bundled npm packages (/usr/lib/dockhand/node_modules), with the license each declares; each
package's own license file is in its directory:
${rows.join('\n')}
`;
}

/** RFC 2822 date with a numeric zone, as Debian changelogs require. */
function rfc2822(epoch: number): string {
  const d = new Date(epoch * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function changelogFile(inputs: ReleaseInputs): string {
  return `dockhand (${debianVersion(inputs.version)}) stable; urgency=medium

  * Release ${inputs.version}, built from revision ${inputs.revision}.

 -- ${maintainer()}  ${rfc2822(inputs.sourceDateEpoch)}
`;
}
