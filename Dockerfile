# hwstash agent image: build with the toolchain, run with only the runtime libraries.
#   docker build -t hwstash .
#   docker run --network host -v /etc/nova:/etc/nova:ro -v /run/libvirt:/run/libvirt hwstash agent
FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt-dev libsystemd-dev pkg-config python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/hwstash
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY bench bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt0 libvirt-clients libsystemd0 osinfo-db \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd -r -g 64060 nova && useradd -r -u 64060 -g nova -d /var/lib/hwstash -s /usr/sbin/nologin nova \
 && install -d -o nova -g nova -m 0750 /var/lib/hwstash
WORKDIR /opt/hwstash
COPY --from=build /opt/hwstash/package.json ./
COPY --from=build /opt/hwstash/node_modules node_modules
COPY --from=build /opt/hwstash/dist dist
COPY bin bin
COPY config config
USER nova
ENV NODE_ENV=production
ENTRYPOINT ["node", "/opt/hwstash/bin/hwstash.js"]
CMD ["agent"]
