# Container image of the MCP server: production dependencies only, non-root, listening on 0.0.0.0:3000.
# The server runs TypeScript through tsx (a production dependency), so there is no compile step.

# Stage 1: install production dependencies exactly as locked. Kept apart so npm's cache and any
# build tooling never reach the final image.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: the runtime image.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json carries "type": "module", which tsx needs to load app/ as ES modules.
COPY package.json tsconfig.json ./
COPY app ./app
# The official image ships an unprivileged "node" user (uid 1000); files stay root-owned and read-only to it.
USER node
EXPOSE 3000
# For `docker run` and compose; Azure Container Apps uses its own probes on the same path.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# What `npm start` runs, without npm in between: signals (SIGTERM on a rolling deploy) reach node directly.
CMD ["node", "--import", "tsx", "app/main.ts"]
