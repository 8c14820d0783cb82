# syntax=docker/dockerfile:1.22.0
# The gateway: Socket.IO for browsers (behind nginx), the bus to the workers.
# Build from the repository root:  docker build -f deploy/docker/gateway.Dockerfile .
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
RUN npx tsc -b services/gateway

# 3. Production dependencies of this service only (and of the workspace packages it uses).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --workspace services/gateway --ignore-scripts --no-audit --no-fund

# 4. What runs: Node, production dependencies, compiled JavaScript; no compiler, no sources.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8089
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/transport/dist packages/transport/dist
COPY --from=build /app/packages/runtime/dist packages/runtime/dist
COPY --from=build /app/services/gateway/dist services/gateway/dist
COPY deploy/docker/healthcheck.cjs ./healthcheck.cjs
USER node
EXPOSE 8089
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/healthcheck.cjs", "PORT", "8089"]
CMD ["node", "services/gateway/dist/main.js"]
