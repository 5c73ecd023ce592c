# dockhand as a container. The systemd unit (systemd/dockhand.service) is the primary way to run
# it; this image is for hosts where everything runs in containers. docs/operations.md explains
# every flag of the run line below.
#
# Build (point NODE_IMAGE at your registry mirror; pin a digest for reproducible builds):
#   docker build -t registry.example.net/dockhand:0.1.0 \
#     --build-arg NODE_IMAGE=registry.example.net/library/node:24-bookworm-slim \
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
#   `node` (uid 1000): then /var/lib/dockhand must be writable by uid 1000.
# - /var/lib/dockhand: log offsets; without it every restart re-ships (or skips) logs.
# - /etc/dockhand: dockhand.yaml (and the token file it names). DOCKHAND_* environment variables
#   (-e DOCKHAND_API__LISTEN=0.0.0.0:9731) override single keys.
# - SELinux enforcing hosts: add --security-opt label=disable (a container may not connect to
#   docker.sock nor read /data under the default policy; relabeling shared dirs is worse).

# Operators point this at their private registry mirror; both stages use it.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript, then drop dev dependencies -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so source edits do not invalidate this layer. The `node` devDependency
# downloads a Node binary package from the npm registry in its install script (it is the Node
# that runs tsc here; pruned below). package.json `allowScripts` lets only that script run; an
# npm older than 11.16 ignores the field and also tries ssh2's and cpu-features' native builds,
# which fail harmlessly without a compiler (both optional; dockerode works without them).
# stubs/: local packages that replace dockerode's ssh2 and gRPC (see stubs/README.md); npm ci links them.
COPY package.json package-lock.json ./
COPY stubs ./stubs
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="dockhand" \
      org.opencontainers.image.description="Node-level agent for Docker hosts: container inventory, log shipping to Logstash, metrics, health probes, control-plane API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

ENV NODE_ENV=production
# Used only by the HEALTHCHECK below (not a DOCKHAND_* name: those are configuration keys).
# Change it if api.listen is not reachable at 127.0.0.1 (a specific address) — with api.tls
# (HTTPS, perhaps client certificates) use --health-cmd or --no-healthcheck instead.
ENV HEALTHCHECK_URL=http://127.0.0.1:9731/healthz

WORKDIR /app
# Owned by root: the agent cannot modify its own code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/stubs ./stubs
# Default state directory, writable by the image user. A named volume mounted here inherits this
# ownership; a bind mount keeps the host directory's owner (see --user above).
RUN install -d -o node -g node -m 0750 /var/lib/dockhand

# Non-root. Docker socket access comes from --group-add, /proc and cgroups are world-readable.
USER node

# The API (documentation only; with --network host nothing is published).
EXPOSE 9731

# SIGTERM = graceful stop (flush, persist offsets). PID 1 in a private pid namespace ignores
# signals without a handler; the agent installs one, so no init is needed.
STOPSIGNAL SIGTERM

# /healthz needs no token. Node itself does the request: the slim image has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/app/dist/main.js"]
# `docker run IMAGE check-config /etc/dockhand/dockhand.yaml` and `... version` work too.
CMD ["run"]
