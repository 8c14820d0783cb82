# syntax=docker/dockerfile:1.22.0
# nginx: serves the built web page and proxies /socket.io/ to the gateways, with
# deploy/nginx/nginx.conf — the same file the process launcher (`npm run cluster`) uses.
# Runs as the unprivileged `nginx` user on port 8080.
# Build from the repository root:  docker build -f deploy/docker/nginx.Dockerfile .
# Base images by exact tag (a current Node LTS on a current Debian slim); Renovate keeps them
# current (renovate.json). The repository itself is developed and tested on Node 20 (package.json
# `engines`); the images run the newer LTS, which the same code supports.
ARG NODE_IMAGE=node:24.18.0-trixie-slim
# nginx 1.27.3 or later: compose's upstream-servers.conf re-resolves the gateways (`resolve`).
ARG NGINX_IMAGE=nginx:1.30.4-alpine

# 1. The package manifests alone, so the dependency layer below is rebuilt only when a
#    package.json or the lockfile changes, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find packages services apps testing web -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

# 2. Build the web page (static files; nothing of Node reaches the final image).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build --workspace web

# 3. The official nginx image with our prefix: conf/, html/, logs/, temp/ (the launcher's
#    layout). Logs go to the container's stdout and stderr.
FROM ${NGINX_IMAGE}
RUN mkdir -p /srv/nginx/conf /srv/nginx/logs /srv/nginx/temp \
 && ln -sf /dev/stdout /srv/nginx/logs/access.log \
 && ln -sf /dev/stderr /srv/nginx/logs/error.log \
 && chown -R nginx:nginx /srv/nginx/logs /srv/nginx/temp
COPY deploy/nginx/nginx.conf deploy/nginx/compose/listen.conf deploy/nginx/compose/upstream-servers.conf /srv/nginx/conf/
COPY --from=build /app/web/dist /srv/nginx/html
USER nginx
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
# SIGTERM closes open WebSockets at once (clients reconnect); SIGQUIT would wait for them.
STOPSIGNAL SIGTERM
ENTRYPOINT ["nginx", "-p", "/srv/nginx/", "-c", "conf/nginx.conf", "-e", "logs/error.log"]
CMD ["-g", "daemon off;"]
