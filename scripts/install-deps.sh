#!/usr/bin/env bash
# Debian 12 packages hwstash needs to build, test and run, then the real services its tests use.
# Idempotent; run as root, on a development or CI machine. (A compute host needs only the runtime
# packages: see docs/operations.md.)
#   build:   build-essential, python3, pkg-config, libvirt-dev, libsystemd-dev (native modules)
#   run:     osinfo-db (libosinfo's OS database), libvirt, QEMU
#   oracles: python3-nova, python3-gi, gir1.2-libosinfo-1.0, libosinfo-bin — the tests compare
#            hwstash with the real Nova (Zed, 26.2.2) and the real libosinfo; Nova 2025.1 comes in a
#            Debian 13 tree (nova-2025.1-tree.sh)
#   package: dpkg-dev, lintian (npm run package and its check), debootstrap and systemd-container
#            (a clean Debian tree, booted with systemd), podman and runc (the container image)
#   services: MariaDB, PostgreSQL, RabbitMQ (installed and started by start-services.sh)
#   clusters: galera-4 and haproxy (the reliability suite starts its own 3-node Galera cluster
#            behind HAProxy; openssl makes the TLS tests' certificates)
set -euo pipefail
need=()
for p in build-essential python3 pkg-config libvirt-dev libsystemd-dev osinfo-db libosinfo-bin python3-gi gir1.2-libosinfo-1.0 python3-nova \
  dpkg-dev lintian debootstrap systemd-container podman runc galera-4 haproxy openssl rsync; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
here=$(cd "$(dirname "$0")" && pwd)
"$here/start-services.sh"

# The tests log in over TCP as MariaDB's root and PostgreSQL's postgres without a password, to
# create and drop throwaway databases. Grant that on 127.0.0.1 only, where it is missing.
if ! mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
  echo "granting MariaDB root@127.0.0.1 (no password) for the tests"
  mariadb -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  if ! mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
    # 127.0.0.1 was resolved to "localhost", whose root logs in over the socket only.
    printf '[mysqld]\nskip-name-resolve\n' > /etc/mysql/mariadb.conf.d/99-hwstash-tests.cnf
    service mariadb restart >/dev/null
  fi
fi
if ! psql -h 127.0.0.1 -U postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  echo "trusting PostgreSQL connections from 127.0.0.1 for the tests"
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload
fi

# The second real Nova the tests compare against: 2025.1, in a Debian 13 tree (built once, kept).
"$here/nova-2025.1-tree.sh" >/dev/null
