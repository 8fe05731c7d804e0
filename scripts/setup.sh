#!/usr/bin/env bash
# Installs the native libraries xmoe links (HDF5, OpenMPI, OpenBLAS, zlib) and the tools its tests use
# (h5dump, h5py), on Debian 12. Safe to run again; a no-op when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
packages=$(grep -v '^#' "$here/apt-packages.txt" | tr '\n' ' ')
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "setup: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $missing >/dev/null
echo "setup: done"
