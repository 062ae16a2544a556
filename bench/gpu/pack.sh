#!/usr/bin/env bash
# Builds what bench/gpu/run.sh needs on a GPU machine that has no network, into bench/gpu/carry/ (git-ignored;
# name it in the device call's `carry`):
#   app.tar.xz              linux-x64 publish of layerchop and layerchop-bench (framework-dependent) without the
#                           CPU libtorch: on the GPU machine libtorch comes from its PyTorch (LD_LIBRARY_PATH)
#   dotnet-runtime.tar.xz   this machine's .NET runtime (dotnet host + Microsoft.NETCore.App), used there only
#                           when the machine has no .NET 10 runtime
#   torchsharp-native.tar.xz  TorchSharp's native C++ sources (src/Native) at the commit of the TorchSharp
#                           package, for rebuilding libLibTorchSharp.so against the machine's libtorch
#   libLibTorchSharp.so     kept if already there: a library an earlier run rebuilt there (copy it from its $OUT)
# and checks that these plus the working tree fit the 64 MiB a device call may send.
#   pack.sh TORCHSHARP_SRC      (or TORCHSHARP_SRC=...) a clone or git directory of dotnet/TorchSharp
set -euo pipefail
fail() { echo "pack.sh: $*" >&2; exit 1; }
cd "$(dirname "$0")/../.."
# The commit the TorchSharp 0.107.0 package was built from (its release-notes commit: the package's native
# library exports the functions this tree defines).
TORCHSHARP_COMMIT=c20b6a1cc574d690707638a488d2583f3b8b983f
LIMIT=$((64 * 1024 * 1024))
carry=bench/gpu/carry
src=${1:-${TORCHSHARP_SRC:-}}
[[ -n $src ]] || fail "give TorchSharp's sources: pack.sh PATH (a clone or git directory of github.com/dotnet/TorchSharp), or set TORCHSHARP_SRC"
mkdir -p "$carry"
tmp=$(mktemp -d /tmp/layerchop-pack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. TorchSharp's native sources at the package's commit.
if git -C "$src" cat-file -e "$TORCHSHARP_COMMIT^{commit}" 2>/dev/null; then
  git -C "$src" archive --format=tar "$TORCHSHARP_COMMIT" src/Native | xz -9 -T2 > "$carry/torchsharp-native.tar.xz"
elif [[ -d $src/src/Native/LibTorchSharp ]]; then
  tar -C "$src" -cf - src/Native | xz -9 -T2 > "$carry/torchsharp-native.tar.xz"
  echo "pack.sh: $src is not a git checkout holding $TORCHSHARP_COMMIT; packed its src/Native as it is" >&2
else
  fail "$src holds neither commit $TORCHSHARP_COMMIT nor src/Native/LibTorchSharp"
fi

# 2. The app: both programs published into one folder (they share every dependency).
for project in src/Client/Client.csproj bench/Engine.Bench/Engine.Bench.csproj; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false -p:UseAppHost=false -o "$tmp/app" --nologo -v q \
    > "$tmp/publish.log" 2>&1 || { tail -20 "$tmp/publish.log" >&2; fail "dotnet publish $project failed"; }
done
libtorch=$(dotnet nuget locals global-packages -l | sed 's/^global-packages: //')/libtorch-cpu-linux-x64
[[ -d $libtorch ]] || fail "no libtorch-cpu-linux-x64 package in the NuGet cache; run dotnet build LayerChop.sln -c Release first"
# Every file of the CPU libtorch package goes: the GPU machine's libtorch replaces all of them.
for f in "$libtorch"/*/runtimes/linux-x64/native/*; do rm -f "$tmp/app/$(basename "$f")"; done
rm -f "$tmp/app"/*.pdb
[[ -f $tmp/app/libLibTorchSharp.so && -f $tmp/app/layerchop.dll && -f $tmp/app/layerchop-bench.dll ]] || fail "the publish folder lacks layerchop, layerchop-bench or libLibTorchSharp.so"
tar -C "$tmp/app" -cf - . | xz -9 -T2 > "$carry/app.tar.xz"

# 3. The .NET runtime the app runs on (host, hostfxr, Microsoft.NETCore.App).
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime=$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* 2>/dev/null | sort -V | tail -1)
[[ -n $runtime ]] || fail "no .NET 10 runtime under $dotnet_root/shared/Microsoft.NETCore.App"
version=$(basename "$runtime")
tar -C "$dotnet_root" -cf - dotnet "host/fxr/$version" "shared/Microsoft.NETCore.App/$version" | xz -9 -T2 > "$carry/dotnet-runtime.tar.xz"

# 4. Sizes: what a device call sends is the working tree (tracked and untracked-not-ignored files) plus carry.
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carried=$(du -cb "$carry"/* | tail -1 | cut -f1)
(cd "$carry" && ls -l --block-size=K -- *)
total=$((tree + carried))
awk -v t="$tree" -v c="$carried" 'BEGIN { printf "working tree %.1f MiB + carry %.1f MiB = %.1f MiB of 64 MiB\n", t/1048576, c/1048576, (t+c)/1048576 }' 
(( total <= LIMIT )) || fail "$total bytes is over the 64 MiB a device call may send"
