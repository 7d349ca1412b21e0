#!/usr/bin/env bash
# A Debian 13 (trixie) root tree with the real Nova 2025.1 (python3-nova 31.x), its nova-manage,
# and trixie's libosinfo and osinfo-db: the second oracle the tests compare hwstash with.
# Built once from Debian's archive and kept (about 2 minutes the first time); run again, it only
# checks the tree. Prints the tree's path as its last line.
#   HWSTASH_NOVA_TREE   where the tree lives (default /var/cache/hwstash/nova-2025.1)
# Tests run the tree's code with `chroot TREE python3 …` / `chroot TREE nova-manage …`: a chroot
# shares this machine's network, so Nova in it reaches the test databases on 127.0.0.1.
set -euo pipefail
tree=${HWSTASH_NOVA_TREE:-/var/cache/hwstash/nova-2025.1}
stamp="$tree/.hwstash-tree-ready"
packages=(python3-nova python3-pymysql python3-psycopg2 python3-gi gir1.2-libosinfo-1.0 osinfo-db)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ] && [ -d "$tree/usr/lib/python3/dist-packages/nova" ]; then
  echo "$tree"
  exit 0
fi

command -v debootstrap >/dev/null || {
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

rm -rf "$tree.partial"
mkdir -p "$(dirname "$tree")"
echo "building a Debian 13 tree with Nova 2025.1 in $tree (once)" >&2
debootstrap --variant=minbase trixie "$tree.partial" "$mirror" >/dev/null
# No daemons start inside the tree while packages install.
printf '#!/bin/sh\nexit 101\n' > "$tree.partial/usr/sbin/policy-rc.d"
chmod +x "$tree.partial/usr/sbin/policy-rc.d"
mount -t proc proc "$tree.partial/proc"
trap 'umount "$tree.partial/proc" 2>/dev/null || true' EXIT
chroot "$tree.partial" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive chroot "$tree.partial" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
chroot "$tree.partial" apt-get clean
umount "$tree.partial/proc"
trap - EXIT
echo "${packages[*]}" > "$tree.partial/.hwstash-tree-ready"
rm -rf "$tree"
mv "$tree.partial" "$tree"
echo "$tree"
