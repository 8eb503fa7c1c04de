# srvdns: build the TypeScript, then run the JavaScript as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY bin bin
# npm ci builds dist/ through the prepare script.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY fixtures fixtures
# The node image's unprivileged user. Port 8600 needs no privilege; for port 53 run with
# --cap-add NET_BIND_SERVICE or map it: docker run -p 53:8600/udp -p 53:8600/tcp.
USER node
EXPOSE 8600/udp 8600/tcp
ENTRYPOINT ["node", "dist/bin/srvdns.js"]
CMD ["--listen", "0.0.0.0:8600", "--file", "fixtures/catalog.yaml"]
