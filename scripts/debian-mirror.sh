#!/bin/sh
# Prints the Debian archive this machine's apt already uses (its first non-security `deb` source),
# so that set-up steps reach Debian's packages the way this machine is configured to.
set -eu
{
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  [ -r /etc/apt/sources.list ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' /etc/apt/sources.list
} 2>/dev/null | grep -v -e security -e '^$' | grep '/debian/\?$' | head -n 1 | grep . \
  || { echo "no Debian archive found in apt's sources (/etc/apt/sources.list*)" >&2; exit 1; }
