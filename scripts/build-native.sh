#!/usr/bin/env bash
# Builds the native parts (BPF programs and addon, replay tenants) after tsc. Each part has its
# own scripts/build-<part>.sh that is incremental (does nothing when its outputs are newer
# than its sources) and fails loudly: setup installs the toolchain they need.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/build-*.sh; do
  [[ $part == scripts/build-native.sh ]] && continue
  bash "$part"
done
