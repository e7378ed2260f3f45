#!/usr/bin/env bash
# Runs `Deepen.Bench gpu-check` on the GPU machine against the machine's own PyTorch libtorch.
#   bash bench/gpu/run-on-device.sh [gpu-check options]      (default: fp32 then bf16, --device cuda)
# Needs bench/gpu/kit/deepen-bench.tar.xz (bench/gpu/build-kit.sh). Writes the whole log to $OUT/gpu-check.log when
# OUT is set. TORCH_LIB_DIR overrides asking python3 where torch's lib folder is.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${DEEPEN_KIT_DIR:-/tmp/deepen-bench}"
log="${OUT:-$dest}/gpu-check.log"
mkdir -p "$(dirname "$log")" "$dest"
main() {
  nvidia-smi -L 2>/dev/null || echo "(nvidia-smi not available)"
  tar -xJf "$here/kit/deepen-bench.tar.xz" -C "$dest" || { echo "cannot unpack $here/kit/deepen-bench.tar.xz"; return 3; }
  local lib="${TORCH_LIB_DIR:-}" extra=""
  if [ -z "$lib" ]; then
    lib="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__) + "/lib")' 2>/dev/null)"
    extra="$(python3 -c 'import glob, os, torch; s = os.path.dirname(os.path.dirname(torch.__file__)); print(":".join(sorted({os.path.dirname(p) for p in glob.glob(s + "/nvidia/**/lib*.so*", recursive=True)})))' 2>/dev/null)"
  fi
  [ -d "$lib" ] || { echo "no torch lib folder (set TORCH_LIB_DIR)"; return 3; }
  export LD_LIBRARY_PATH="$lib${extra:+:$extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export NUGET_PACKAGES=/nonexistent    # TorchSharp must not fall back to copying a libtorch from a NuGet cache
  export DOTNET_CLI_TELEMETRY_OPTOUT=1
  echo "torch lib: $lib"
  if [ "$#" -gt 0 ]; then timeout 540 "$dest/app/Deepen.Bench" gpu-check "$@"; return $?; fi
  local rc=0
  timeout 270 "$dest/app/Deepen.Bench" gpu-check --device cuda --steps 5 || rc=$?
  timeout 270 "$dest/app/Deepen.Bench" gpu-check --device cuda --steps 5 --precision bf16 || rc=$?
  return $rc
}
main "$@" 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
