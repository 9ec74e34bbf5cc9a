# syntax=docker/dockerfile:1
# Sealfold: the coordinator (default command) and the `sealfold` CLI (silo, owner, buyer commands) in one image.
# Build: docker build -t sealfold .      Run: see compose.yaml and README.md ("Operator", "Containers").
# NODE_IMAGE: the Node 22 base (official image by default; a local mirror's where Docker Hub is out of reach).
# test/deploy/deploy-files.spec.ts checks this file statically against the configuration table.
ARG NODE_IMAGE=node:22.23.3-bookworm-slim

# ---- build stage: all dependencies, TypeScript compiled to dist/, web app bundled, then dev dependencies pruned ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The install first (cached while only sources change). postinstall.mjs completes native packages npm skips.
COPY package.json package-lock.json .npmrc ./
COPY scripts/postinstall.mjs scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
COPY bin bin
COPY scripts scripts
RUN npm run build && npm run build:web \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime stage: compiled code and production dependencies only, run as an unprivileged user ----
FROM ${NODE_IMAGE} AS runtime
# SEALFOLD_CLI_NO_BUILD: the CLI must not try to compile sources (there are none here: dist/ is prebuilt).
# GLIBC_TUNABLES: scripts/malloc-tuning.mjs's settings, set here so the servers do not restart themselves to get them.
# SEALFOLD_DATA_DIR: state (SQLite when SEALFOLD_DATABASE_URL is empty, embedded IPFS blocks, keys) is in the volume.
ENV NODE_ENV=production \
    SEALFOLD_CLI_NO_BUILD=1 \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456 \
    SEALFOLD_DATA_DIR=/var/lib/sealfold \
    SEALFOLD_HOST=0.0.0.0 \
    SEALFOLD_PORT=8080
RUN groupadd --system --gid 10001 sealfold \
 && useradd --system --uid 10001 --gid sealfold --home-dir /var/lib/sealfold --shell /usr/sbin/nologin sealfold \
 && mkdir -p /var/lib/sealfold /srv/sealfold-deployment \
 && chown sealfold:sealfold /var/lib/sealfold /srv/sealfold-deployment
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY --from=build /app/scripts/alias-hooks.mjs /app/scripts/register-aliases.mjs /app/scripts/malloc-tuning.mjs /app/scripts/start-coordinator.mjs /app/scripts/ingest-tuning.mjs /app/scripts/reexec.mjs scripts/
COPY deploy/deploy-contracts.mjs deploy/
RUN ln -s /app/bin/sealfold.mjs /usr/local/bin/sealfold
USER sealfold:sealfold
VOLUME /var/lib/sealfold
EXPOSE 8080
# GET /health: 200 when live and ready (database, chain, content store), 503 otherwise. No curl in the slim image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SEALFOLD_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The coordinator (what `npm start` runs once built). For a silo or the CLI: `docker run … sealfold silo start …`.
CMD ["node", "scripts/start-coordinator.mjs"]
