#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for agentcgroup, idempotently: system packages (build
# tools, the BPF toolchain, Podman with runc, debootstrap, Chromium), Podman's configuration
# for hybrid-cgroup hosts, the npm dependencies (native addons built offline against
# /usr/include/node) and the TypeScript build. Safe to run again; it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential python3 pkg-config clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool
  podman runc debootstrap chromium)

log() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing system packages (need root to install): ${missing[*]}"
    log "run: sudo apt-get install -y ${missing[*]}   (the features that need them are listed by 'agentcgroup doctor')"
  else
    log "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Podman on hybrid cgroups: crun refuses hybrid mode, so use runc; root lacks CAP_SYS_RESOURCE
# here, so podman's default ulimits (above the hard limit) must be lowered.
if [[ $(id -u) -eq 0 ]] && command -v podman >/dev/null; then
  conf=/etc/containers/containers.conf.d/50-agentcgroup.conf
  want=$'# written by agentcgroup scripts/setup.sh\n[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n'
  if [[ ! -f $conf ]] || [[ "$(cat "$conf")"$'\n' != "$want" ]]; then
    mkdir -p "$(dirname "$conf")"
    printf '%s' "$want" >"$conf"
    log "wrote $conf"
  fi
fi

# Native addons (better-sqlite3, ours) build offline against Node's own headers.
export npm_config_nodedir=/usr
stamp=node_modules/.agentcgroup-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp ]] || [[ "$(cat "$stamp")" != "$hash" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$hash" >"$stamp"
fi

log "build"
npm run --silent build

# --- run-benchmark: the real Claude Code CLI, pinned, project-local (not a package.json
# dependency: it is the agent under test, mounted read-only into containers, never imported).
# 2.1.112 is the newest pure-JavaScript release (later ones download a native binary).
CLAUDE_CODE_VERSION=2.1.112
cc_dir=.agentcgroup/claude-code-$CLAUDE_CODE_VERSION
if [[ ! -f $cc_dir/node_modules/@anthropic-ai/claude-code/cli.js ]]; then
  log "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $cc_dir"
  mkdir -p "$cc_dir"
  npm install --prefix "$cc_dir" --no-save --no-audit --no-fund --omit=optional --loglevel=error "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"
fi

# --- run-benchmark: the demo image (debootstrap + podman import, ~2-4 min once, cached under
# /var/cache/agentcgroup by recipe hash). Optional here: the first run-benchmark builds it too.
if [[ ${AGENTCGROUP_PREBUILD_DEMO_IMAGE:-0} == 1 ]] && [[ $(id -u) -eq 0 ]] && command -v podman >/dev/null; then
  log "building the demo image"
  node -e "import('./dist/collector/image.js').then((m) => m.ensureDemoImage((s) => console.error('[setup] ' + s))).then((r) => console.error('[setup] demo image ' + r.image + ' (' + r.action + ')'))"
fi

log "ready: $(./bin/run.js --version)"
