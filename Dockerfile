# dockhand as a container, made from the release tarball (`npm run package` writes it into
# release/): the same files as the Debian package and the tarball install, Node.js included, so
# the base image needs nothing but glibc and /bin/sh. The systemd unit (systemd/dockhand.service)
# is the primary way to run dockhand; this image is for hosts where everything runs in
# containers. docs/operations.md explains every flag of the run line below.
#
# Build (after `npm run package`; point BASE_IMAGE at your registry mirror, pin a digest for
# reproducible builds):
#   docker build -t registry.example.net/dockhand:0.1.0 \
#     --build-arg BASE_IMAGE=registry.example.net/library/debian:bookworm-slim \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Run (one per Docker host):
#   docker run -d --name dockhand --restart always --stop-timeout 45 \
#     --network host --pid host --cgroupns host \
#     --user "$(id -u dockhand):$(id -g dockhand)" --group-add "$(stat -c %g /var/run/docker.sock)" \
#     --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --memory 512m \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     -v /data/application/logs:/data/application/logs:ro \
#     -v /var/lib/dockhand:/var/lib/dockhand \
#     -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -v /etc/dockhand:/etc/dockhand:ro \
#     registry.example.net/dockhand:0.1.0
#
# Why each flag:
# - --group-add <gid of the socket>: the image user is not in the host's docker group, and that
#   gid differs between hosts. Access to the Docker API is root-equivalent on the host (`:ro` on
#   the socket does not make the API read-only; it only stops replacing the socket file).
# - --pid host: the metrics sampler reads /proc/<pid>/net/dev and /proc/<pid>/cgroup of other
#   containers' processes, by the host pids Docker reports; a private pid namespace hides them.
#   World-readable files, so no capability is needed.
# - --cgroupns host + /sys/fs/cgroup: the host's whole cgroup tree (per-container cpu, memory,
#   io, pids) with the paths /proc/<pid>/cgroup names; read-only.
# - --network host: the API binds on the host (127.0.0.1:9731 by default), probes reach published
#   ports and container IPs, network metrics see the host's interfaces, host.name is the host's.
# - --stop-timeout 45: docker stop waits 10 s by default; the agent's graceful stop (flush, wait
#   for Logstash ACKs, persist offsets) is bounded at ~30 s.
# - --user dockhand: the same system user as the systemd install, so /var/lib/dockhand and the
#   token file (root:dockhand 0640) need no special ownership. Without --user the image runs as
#   its own `dockhand` user (uid and gid 9731): then /var/lib/dockhand must be writable by 9731.
# - /var/lib/dockhand: log offsets; without it every restart re-ships (or skips) logs.
# - /etc/dockhand: dockhand.yaml (and the token file it names). DOCKHAND_* environment variables
#   (-e DOCKHAND_API__LISTEN=0.0.0.0:9731) override single keys.
# - SELinux enforcing hosts: add --security-opt label=disable (a container may not connect to
#   docker.sock nor read /data under the default policy; relabeling shared dirs is worse).

# Operators point this at their registry mirror. Any glibc-based image with /bin/sh, useradd and
# groupadd will do: the release brings its own Node.js.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG BASE_IMAGE
# The release to install: release/dockhand-${VERSION}-linux-x64.tar.gz must be in the context.
ARG VERSION
ARG REVISION=unknown
LABEL org.opencontainers.image.title="dockhand" \
      org.opencontainers.image.description="Node-level agent for Docker hosts: container inventory, log shipping to Logstash, metrics, health probes, control-plane API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

ENV NODE_ENV=production
# Used only by the HEALTHCHECK below (not a DOCKHAND_* name: those are configuration keys).
# Change it if api.listen is not reachable at 127.0.0.1:9731 (a specific address or another
# port) — with api.tls (HTTPS, perhaps client certificates) use --health-cmd or --no-healthcheck.
ENV HEALTHCHECK_URL=http://127.0.0.1:9731/healthz

# ADD unpacks the tarball: /opt/dockhand/releases/dockhand-<version>-linux-x64, owned by root (the
# agent cannot modify its own code), the layout of a tarball install (docs/operations.md).
ADD release/dockhand-${VERSION}-linux-x64.tar.gz /opt/dockhand/releases/
# One layer: the links of a tarball install, the image's own user, and the default state
# directory, writable by that user. A named volume mounted there inherits this ownership; a bind
# mount keeps the host directory's owner (see --user above).
RUN test -x "/opt/dockhand/releases/dockhand-${VERSION}-linux-x64/bin/dockhand" \
 && ln -s "releases/dockhand-${VERSION}-linux-x64" /opt/dockhand/current \
 && ln -s /opt/dockhand/current/bin/dockhand /usr/bin/dockhand \
 && groupadd --system --gid 9731 dockhand \
 && useradd --system --uid 9731 --gid dockhand --home-dir /var/lib/dockhand --no-create-home --shell /usr/sbin/nologin dockhand \
 && install -d -o dockhand -g dockhand -m 0750 /var/lib/dockhand

# Non-root. Docker socket access comes from --group-add, /proc and cgroups are world-readable.
USER dockhand

# The API (documentation only; with --network host nothing is published).
EXPOSE 9731

# SIGTERM = graceful stop (flush, persist offsets). The launcher execs node, so the agent is PID 1;
# PID 1 in a private pid namespace ignores signals without a handler, and the agent installs one,
# so no init is needed.
STOPSIGNAL SIGTERM

# /healthz needs no token. The bundled node does the request: the base image may have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/dockhand/current/node/bin/node", "-e", "fetch(process.env.HEALTHCHECK_URL, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/dockhand"]
# `docker run IMAGE check-config /etc/dockhand/dockhand.yaml` and `... version` work too.
CMD ["run"]
