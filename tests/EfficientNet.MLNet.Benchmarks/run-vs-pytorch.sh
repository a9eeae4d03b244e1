#!/usr/bin/env bash
# Benchmarks EfficientNet.MLNet against torchvision's efficientnet_b0 in eager PyTorch on this machine.
# Installs Debian's python3-torch and python3-torchvision with apt when they are missing (reference only), and
# libtcmalloc-minimal4 (both sides' Fit also runs with tcmalloc preloaded), builds the benchmark app in Release and runs it; extra arguments go to the app (--runs, --threads, --json).
#
#   bash tests/EfficientNet.MLNet.Benchmarks/run-vs-pytorch.sh [--runs 3] [--threads 2] [--json benchmark.json]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ]; then
  sudo_if_needed=""; [ "$(id -u)" -ne 0 ] && sudo_if_needed="sudo"
  $sudo_if_needed apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -q python3-torch python3-torchvision libtcmalloc-minimal4
fi
dotnet build -c Release "$here" -v quiet -nologo
exec dotnet run -c Release --no-build --project "$here" -- --compare-pytorch "$@"
