#!/usr/bin/env bash
# Debian 12 packages hwstash needs to build, test and run, then the real services its tests use.
# Idempotent; run as root. On a compute host only the runtime packages matter (see README).
# python3-nova, python3-gi and gir1.2-libosinfo-1.0 are test oracles: the tests compare hwstash with
# the real Nova (Zed, 26.2.2) and the real libosinfo.
set -euo pipefail
need=()
for p in libvirt-dev pkg-config libsystemd-dev osinfo-db libosinfo-bin python3-gi gir1.2-libosinfo-1.0 python3-nova; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
here=$(cd "$(dirname "$0")" && pwd)
"$here/start-services.sh"
