#!/usr/bin/env bash
# Builds the tool shell (collector/native/toolshell.c), the agent's $SHELL that puts each tool
# call in its own cgroup, into build/toolshell/ as `bash` and `zsh` (one static binary, hard
# linked: it runs inside containers with any libc). Only when the source is newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=collector/native/toolshell.c
out=build/toolshell
cc=${CC:-gcc}
if [[ -f $out/bash && -f $out/zsh && $out/bash -nt $src && $out/bash -nt scripts/build-toolshell.sh ]]; then exit 0; fi
command -v "$cc" >/dev/null || { echo "build-toolshell: $cc not found (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"
"$cc" -O2 -Wall -Wextra -Werror -std=gnu11 -static -s -o "$out/bash.tmp" "$src" || {
  echo "build-toolshell: static link failed (glibc's libc.a comes with libc6-dev)" >&2
  exit 1
}
mv "$out/bash.tmp" "$out/bash"
ln -f "$out/bash" "$out/zsh"
echo "build-toolshell: built $out/{bash,zsh}" >&2
