#!/usr/bin/env bash
# Builds the replayer's native helpers (replayer/native/*.c) into build/replayer/, one binary
# per source file, only when a source or header is newer than its binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/replayer
mkdir -p "$out"
cc=${CC:-gcc}
command -v "$cc" >/dev/null || { echo "build-replayer: $cc not found (run scripts/setup.sh)" >&2; exit 1; }
for src in replayer/native/*.c; do
  name=agentcgroup-$(basename "$src" .c)
  bin=$out/$name
  if [[ -f $bin && $bin -nt $src ]] && ! find replayer/native -name '*.h' -newer "$bin" | grep -q .; then continue; fi
  "$cc" -O2 -Wall -Wextra -Werror -std=gnu11 -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
  echo "build-replayer: built $bin" >&2
done
