# syntax=docker/dockerfile:1
# One image for every role: `node src/main.ts serve | worker | migrate` (the default is serve).
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step, and the
# `node` devDependency that pins Node 24 for local scripts is not needed here: the base image is Node 24.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only, without install scripts (none of them is needed at run time here).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3030 \
    WORKER_PORT=3031 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# Files stay owned by root (read-only for the app); only DATA_DIR and the compile cache are writable.
RUN mkdir -p /data /app/.node-compile-cache && chown node:node /data /app/.node-compile-cache
USER node
# Node's module compile cache (stripped TypeScript and V8 code of every module), filled at build time by
# importing both roles' modules once (nothing connects: importing them runs nothing), so a new instance
# skips most of the parsing and compiling at start-up. Filled as `node` on purpose: Node keeps the entries
# in a subdirectory named after the uid, so a process running under another uid finds no cache (it then
# starts as without one: a compile cache that cannot be used is ignored, never an error). Loaded through
# start-up.ts, as src/main.ts loads them (its drizzle-orm resolve hook: a second less to import them).
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN node --import ./src/platform/start-up.ts --input-type=module -e "for (const m of ['./src/cli/program.ts', './src/web/web-role.ts', './src/worker/worker-role.ts']) await import(m)"
EXPOSE 3030 3031
# Liveness of whichever role runs: the web role answers /health on PORT, the worker on WORKER_PORT
# (each listens on one of the two only), so one check serves every role without an override.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "Promise.any([process.env.PORT || 3030, process.env.WORKER_PORT || 3031].map((port) => fetch('http://127.0.0.1:' + port + '/health').then((r) => { if (!r.ok) throw new Error(String(r.status)); }))).then(() => process.exit(0), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "src/main.ts", "serve"]
