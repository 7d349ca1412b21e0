#!/usr/bin/env bash
# Debian 12's libvirtd (the daemon and its QEMU driver) and QEMU, as .deb files kept on this
# machine: the package tests install them in their copy of the clean tree (debian-tree.sh) to run
# a libvirtd of the container's own under its systemd, so that the packaged, hardened unit is
# proven against a real libvirt socket without touching this machine's libvirtd. Downloaded once
# from Debian's archive (about 40 MB) and kept; the clean tree itself stays clean. Idempotent.
# Prints the folder's path as its last line.
#   HWSTASH_LIBVIRTD_DEBS   where they live (default /var/cache/hwstash/bookworm-libvirtd-debs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${HWSTASH_LIBVIRTD_DEBS:-/var/cache/hwstash/bookworm-libvirtd-debs}
stamp="$dir/.hwstash-debs-ready"
if [ -f "$stamp" ]; then
  echo "$dir"
  exit 0
fi
tree=$("$here/debian-tree.sh" | tail -1)
work=$(mktemp -d /var/tmp/hwstash-ct-debs-XXXXXX)
cleanup() {
  umount "$work/root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
echo "downloading libvirtd and QEMU for the package tests into $dir (once)" >&2
cp -a --reflink=auto "$tree" "$work/root"
mount -t proc proc "$work/root/proc"
# Only the daemon and its QEMU driver: not libvirt-daemon-system, whose default network and
# firewall rules would land in this machine's network namespace (the container shares it).
chroot "$work/root" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86' >/dev/null
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
cp "$work/root/var/cache/apt/archives/"*.deb "$dir.partial/"
touch "$dir.partial/.hwstash-debs-ready"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir"
