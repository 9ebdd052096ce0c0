# movies-collector: build with dev dependencies, run with production dependencies and the
# built output only, as the non-root `node` user. Signals: compose runs it with `init: true`
# (tini as PID 1), so SIGTERM reaches the daemon and zombies are reaped.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: every native part ships prebuilt (DuckDB's and koffi's platform packages);
# koffi's script would compile it from source, and this image has no compiler.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    LOG_DIR=/logs \
    CONFIG_FILE=/app/config/config.json \
    HEALTH_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
RUN chmod +x dist/src/cli.js \
 && ln -s /app/dist/src/cli.js /usr/local/bin/movies-collector \
 && mkdir -p /data /logs \
 && chown node:node /data /logs
USER node
VOLUME ["/data", "/logs"]
EXPOSE 8080
# No curl in the slim image: Node's own fetch asks the daemon's /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["movies-collector"]
CMD ["start"]
