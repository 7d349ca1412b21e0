# hwstash agent image (containerised deployments such as Kolla's), made from the Debian package:
# the same self-contained files a compute host gets, on a Debian 12 base.
#   npm run package                      # build/deb/hwstash_<version>_amd64.deb
#   podman build --build-arg BASE=debian:bookworm-slim -t hwstash .
#   podman run --network host -v /etc/nova:/etc/nova:ro -v /etc/hwstash:/etc/hwstash:ro \
#     -v /run/libvirt:/run/libvirt hwstash agent
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# Kolla's nova account (uid/gid 42436), so files shared with its nova containers keep one owner;
# the package's postinst finds it and creates no other.
ARG NOVA_UID=42436
RUN (getent group nova >/dev/null || groupadd -r -g "${NOVA_UID}" nova) \
 && (getent passwd nova >/dev/null || useradd -r -u "${NOVA_UID}" -g nova -d /var/lib/nova -M -s /usr/sbin/nologin nova)
COPY build/deb/hwstash_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/hwstash_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/hwstash_*.deb \
 && install -d -o nova -g nova -m 0750 /var/lib/hwstash
USER nova
WORKDIR /var/lib/hwstash
ENV NODE_ENV=production
ENTRYPOINT ["/usr/bin/hwstash"]
CMD ["agent"]
