#!/bin/sh
# Installs the Debian packages netc needs to build and test (as root; skipped when present).
set -e
pkgs="meson ninja-build pkg-config gcc clang flex bison libyaml-dev zlib1g-dev libjson-c-dev
      libopenblas-dev libcriterion-dev libclang-rt-14-dev openmpi-bin libopenmpi-dev
      libpng-dev libjpeg62-turbo-dev libcsv-dev librsvg2-bin"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "netc needs these Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
