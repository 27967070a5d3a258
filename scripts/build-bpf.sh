#!/usr/bin/env bash
# Builds the BPF programs and their loader addon, incrementally:
#   /sys/kernel/btf/vmlinux -> bpf/.output/vmlinux.h                (bpftool btf dump)
#   bpf/<name>.bpf.c        -> bpf/.output/<name>.bpf.o               (clang -target bpf, CO-RE)
#   <name>.bpf.o            -> bpf/.output/<name>.skel.h              (bpftool gen skeleton)
#   bpf/src/*.cc + skeletons -> bpf/build/Release/bpf_addon.node     (node-gyp, links libbpf)
# Each step runs only when its inputs are newer than its output. Missing tools fail loudly
# (scripts/setup.sh installs them); a kernel without BTF skips the build with one line, and
# `record` then uses the cgroupfs sampler.
set -euo pipefail
cd "$(dirname "$0")/.."

# node-gyp builds offline against Node's own headers
export npm_config_nodedir=${npm_config_nodedir:-/usr}

OUT=bpf/.output
BTF=/sys/kernel/btf/vmlinux
log() { printf '[build-bpf] %s\n' "$*" >&2; }

if [[ ! -r $BTF ]]; then
  log "skipped: $BTF missing (kernel without BTF); record will use the cgroupfs sampler"
  exit 0
fi
# bpftool lives in sbin, which a non-root PATH often lacks
export PATH=$PATH:/usr/sbin:/sbin
for tool in clang bpftool llvm-strip; do
  command -v "$tool" >/dev/null || {
    log "error: $tool not found: run scripts/setup.sh (apt-get install clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev)"
    exit 1
  }
done
[[ -r /usr/include/bpf/libbpf.h ]] || { log "error: /usr/include/bpf/libbpf.h missing: apt-get install libbpf-dev"; exit 1; }

mkdir -p "$OUT"

# newer OUT IN...: true when OUT is missing or older than any IN
stale() {
  local out=$1
  shift
  [[ -e $out ]] || return 0
  local in
  for in in "$@"; do [[ $in -nt $out ]] && return 0; done
  return 1
}

# vmlinux.h follows the running kernel: regenerate when the release changes
release=$(uname -r)
if [[ ! -s $OUT/vmlinux.h ]] || [[ "$(cat "$OUT/vmlinux.release" 2>/dev/null)" != "$release" ]]; then
  log "vmlinux.h from $BTF ($release)"
  bpftool btf dump file "$BTF" format c >"$OUT/vmlinux.h.tmp"
  mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
  echo "$release" >"$OUT/vmlinux.release"
fi

case $(uname -m) in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

for src in bpf/*.bpf.c; do
  name=$(basename "$src" .bpf.c)
  obj=$OUT/$name.bpf.o
  skel=$OUT/$name.skel.h
  if stale "$obj" "$src" bpf/common.bpf.h bpf/events.h "$OUT/vmlinux.h" scripts/build-bpf.sh; then
    log "clang $src"
    clang -g -O2 -Wall -Wno-unused-function -target bpf "-D__TARGET_ARCH_$arch" -I"$OUT" -Ibpf -c "$src" -o "$obj.tmp"
    # keep BTF (needed for CO-RE), drop DWARF
    llvm-strip -g "$obj.tmp"
    mv "$obj.tmp" "$obj"
  fi
  if stale "$skel" "$obj"; then
    bpftool gen skeleton "$obj" name "${name}_bpf" >"$skel.tmp"
    mv "$skel.tmp" "$skel"
  fi
done

gyp=node_modules/node-gyp/bin/node-gyp.js
[[ -f $gyp ]] || { log "error: $gyp missing: run npm ci"; exit 1; }
addon=bpf/build/Release/bpf_addon.node
if stale bpf/build/Makefile bpf/binding.gyp; then
  log "node-gyp configure"
  (cd bpf && node ../$gyp configure --loglevel=error)
fi
if stale "$addon" bpf/src/*.cc bpf/events.h "$OUT"/*.skel.h bpf/binding.gyp; then
  log "node-gyp build"
  # make's progress lines go to stdout; compiler errors to stderr
  (cd bpf && node ../$gyp build --loglevel=error >/dev/null)
fi
