# Container image of the MCP server: compiled JavaScript, production dependencies only, non-root, on 0.0.0.0:3000.
# `test/deploy/image.test.ts` replays this file's instructions without Docker, so keep to COPY/RUN/ENV/CMD.

# Stage 1: compile app/ to dist/. The full lockfile install brings TypeScript; none of it reaches the image.
# --ignore-scripts: nothing the build needs runs an install script.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
RUN npx tsc -p tsconfig.build.json

# Stage 2: the runtime image. --ignore-scripts because the "prestart" build and any install hook need dev tools.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/app ./dist/app
# The official image ships an unprivileged "node" user (uid 1000); files stay root-owned and read-only to it.
USER node
EXPOSE 3000
# For `docker run` and compose; Azure Container Apps uses its own probes on the same path.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and receives SIGTERM itself: app/main.ts drains and exits, so no init process is needed.
# (A PID 1 gets no default signal handlers; the app installs its own for SIGTERM and SIGINT.)
CMD ["node", "dist/app/main.js"]
