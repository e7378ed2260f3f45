#!/usr/bin/env bash
# Builds bench/gpu/kit/deepen-bench.tar.xz: the bench published self-contained for linux-x64 with NO libtorch
# (-p:LibTorchPackage=none), to run `gpu-check` on a machine that has its own libtorch (a PyTorch install), the route
# ../shared/gpu-probe tests. TorchSharp's glue libLibTorchSharp.so is in the kit, with the GLIBCXX_3.4.32 fix applied at
# publish (src/Deepen/build/Deepen.targets). Carry bench/gpu/kit to the GPU machine and run bench/gpu/run-on-device.sh.
#   bash bench/gpu/build-kit.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stage="$here/obj/stage"
rm -rf "$stage" "$here/kit"
mkdir -p "$stage" "$here/kit"
# The next plain build of the bench restores libtorch-cpu again (the package set differs, so NuGet re-restores).
dotnet publish "$root/bench/Deepen.Bench/Deepen.Bench.csproj" -c Release -r linux-x64 --self-contained \
  -p:LibTorchPackage=none -p:InvariantGlobalization=true -o "$stage/app" --nologo
if ls "$stage/app" | grep -E '^lib(torch|c10)' >/dev/null; then
  echo "error: libtorch found in the publish output; the kit must use the device's libtorch" >&2; exit 1
fi
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - app | xz -6 -T0 > "$here/kit/deepen-bench.tar.xz"
echo "kit: $(du -h "$here/kit/deepen-bench.tar.xz" | cut -f1) $here/kit/deepen-bench.tar.xz"
