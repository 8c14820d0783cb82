# syntax=docker/dockerfile:1.22.0
# The terminal-worker: owns the PTYs. Its image is also the users' machine: it carries the
# shell and the tools people expect in a terminal. The worker runs as root (with only the
# capabilities docker-compose.yml or deploy/kubernetes add) so that each user's shells run
# under that user's own Unix account, created on first use (TERMINAL_ISOLATION=user):
# util-linux's setpriv and prlimit and shadow's useradd (installed below) do the switching.
# Build from the repository root:  docker build -f deploy/docker/terminal-worker.Dockerfile .
# Base images by exact tag (a current Node LTS on a current Debian slim); Renovate keeps them
# current (renovate.json). The repository itself is developed and tested on Node 20 (package.json
# `engines`); the images run the newer LTS, which the same code supports.
ARG NODE_IMAGE=node:24.18.0-trixie-slim

# 1. The package manifests alone, so the dependency layers below are rebuilt only when a
#    package.json or the lockfile changes, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find packages services apps testing web -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

# 2. Compile the TypeScript (every dependency, dev ones included; compiling runs no install script).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -b services/terminal-worker

# 3. Production dependencies of this service only. node-pty has no Linux prebuild: its
#    install script compiles it, so this stage has a compiler (the final one does not).
FROM ${NODE_IMAGE} AS prod-deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The Node headers are in the image: node-gyp needs no download.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --workspace services/terminal-worker --no-audit --no-fund

# 4. What runs. tini is PID 1 so processes that users' shells leave behind (reparented to
#    PID 1) are reaped instead of piling up as zombies against the pids limit.
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tini util-linux passwd bash coreutils procps less nano vim-tiny git curl ca-certificates \
      openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/ctos-realtime/home \
 && chmod 0711 /var/lib/ctos-realtime/home \
 && useradd --create-home --uid 10001 --user-group --shell /bin/bash ctos
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    OPS_PORT=9101 \
    TERMINAL_SHELL=/bin/bash \
    TERMINAL_HOME_ROOT=/var/lib/ctos-realtime/home \
    TERMINAL_CWD=/home/ctos
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/transport/dist packages/transport/dist
COPY --from=build /app/packages/runtime/dist packages/runtime/dist
COPY --from=build /app/services/terminal-worker/dist services/terminal-worker/dist
COPY deploy/docker/healthcheck.cjs ./healthcheck.cjs
# Root, on purpose: see the top. With TERMINAL_ISOLATION=none, run it as `ctos` instead
# (compose: `user: ctos`), and every shell runs as that one user.
USER root
EXPOSE 9101
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/healthcheck.cjs", "OPS_PORT", "9101"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "services/terminal-worker/dist/main.js"]
