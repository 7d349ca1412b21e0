#!/usr/bin/env bash
# A clean Debian 12 root tree with systemd (no compiler, no Node.js): where the package's install
# and its unit under a real systemd (systemd-nspawn) are proven. Built once and kept; tests copy
# it before changing anything. Prints the tree's path as its last line.
#   HWSTASH_DEBIAN_TREE   where it lives (default /var/cache/hwstash/bookworm-systemd)
set -euo pipefail
tree=${HWSTASH_DEBIAN_TREE:-/var/cache/hwstash/bookworm-systemd}
stamp="$tree/.hwstash-tree-ready"
if [ -f "$stamp" ] && [ -x "$tree/lib/systemd/systemd" ]; then
  echo "$tree"
  exit 0
fi
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$tree.partial"
mkdir -p "$(dirname "$tree")"
echo "building a clean Debian 12 tree with systemd in $tree (once)" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$tree.partial" "$mirror" >/dev/null
# The same archive as this machine, for the package's dependencies.
cp /etc/apt/sources.list.d/debian.sources "$tree.partial/etc/apt/sources.list.d/" 2>/dev/null || true
rm -f "$tree.partial/etc/apt/sources.list"
touch "$tree.partial/.hwstash-tree-ready"
rm -rf "$tree"
mv "$tree.partial" "$tree"
echo "$tree"
