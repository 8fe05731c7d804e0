#!/usr/bin/env bash
# Installs the native libraries xmoe links (HDF5, OpenMPI, OpenBLAS, zlib) and the tools its tests use
# (h5dump, h5py, Slurm + munge, and PyPI's tensorboard in a virtual environment), on Debian 12.
# Safe to run again; a no-op when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
packages=$(grep -v '^#' "$here/apt-packages.txt" | tr '\n' ' ')
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "setup: all packages present"
else
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $missing >/dev/null
fi

# TensorBoard's own event reader checks the event files xmoe writes. Debian has no package for it and
# its Python is externally managed (PEP 668), so it goes into a venv over the system site packages
# (which provide h5py and numpy); the tests look for it here.
venv="${XDG_CACHE_HOME:-$HOME/.cache}/xmoe/tensorboard-venv"
if ! "$venv/bin/python" -c "import tensorboard, h5py" 2>/dev/null; then
    echo "setup: installing tensorboard into $venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "tensorboard==2.21.0"
fi
echo "setup: done"
