# srvdns: build the TypeScript, then run the JavaScript as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# A C toolchain for the native part (batched UDP, lib/native); the runtime image has none.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential python3 && rm -rf /var/lib/apt/lists/*
COPY lib lib
COPY bin bin
# npm ci builds the native part (install script) and dist/ (prepare script).
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Listening on every interface is the image's, not the command's: `docker run … srvdns
# --file /etc/srvdns/catalog.yaml` replaces CMD and still answers on the published port.
# To change the port, set SRVDNS_LISTEN (the health check reads it too).
ENV SRVDNS_LISTEN=0.0.0.0:8600
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# Where dist/lib/server/udp-batch.js looks for it (srvdns falls back to dgram without it).
COPY --from=build /app/lib/native/build/Release/udp_batch.node lib/native/build/Release/udp_batch.node
COPY fixtures fixtures
# The node image's unprivileged user. Since Docker 20.10 every port, 53 included, is
# unprivileged inside a container's own network namespace
# (net.ipv4.ip_unprivileged_port_start=0), so SRVDNS_LISTEN=0.0.0.0:53 needs no
# capability; with --network host it does (--cap-add NET_BIND_SERVICE, or a high port).
USER node
EXPOSE 8600/udp 8600/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "dist/bin/healthcheck.js"]
ENTRYPOINT ["node", "dist/bin/srvdns.js"]
CMD ["--file", "fixtures/catalog.yaml"]
