#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) to build and run ntap, then build it.
#
#   scripts/setup.sh            install what is missing, configure and build into build/
#
# Re-running is cheap: packages are only installed when dpkg says one is missing,
# and the build is incremental.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${NTAP_BUILD_DIR:-$repo_root/build}"

packages=(
  llvm-19-dev libbpf-dev libelf-dev libdw-dev tao-pegtl-dev catch2 zlib1g-dev libzstd-dev
  libcli11-dev libfmt-dev pkg-config cmake ninja-build g++ bpftool iproute2 nftables python3
  procps lld strace libcpp-httplib-dev prometheus jq curl libfuse3-dev
  clang-19 libclang-rt-19-dev
)

missing_packages() {
  local pkg status
  for pkg in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "installed" ]] || echo "$pkg"
  done
}

missing="$(missing_packages)"
if [[ -n "$missing" ]]; then
  echo "setup: installing: $(echo $missing)"
  if [[ $EUID -ne 0 ]]; then
    echo "setup: installing packages needs root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${packages[@]}"
fi

# Tracepoint format files (field offsets, drop-reason names) live in tracefs.
if [[ ! -d /sys/kernel/tracing/events ]]; then
  if [[ $EUID -eq 0 ]]; then
    mount -t tracefs tracefs /sys/kernel/tracing || echo "setup: could not mount tracefs" >&2
  else
    echo "setup: tracefs is not mounted at /sys/kernel/tracing (needs root)" >&2
  fi
fi

# CI (which sets CI, see .ci/run) builds with warnings as errors. The option
# is passed on every run, so an existing build directory follows the
# environment too.
werror=OFF
if [[ -n "${CI:-}" ]]; then werror=ON; fi

# Two cores are the norm on our machines; let ninja decide unless told otherwise.
cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNTAP_WERROR="$werror"
ninja -C "$build_dir" ${NTAP_BUILD_JOBS:+-j "$NTAP_BUILD_JOBS"}
