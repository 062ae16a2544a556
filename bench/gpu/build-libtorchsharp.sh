#!/usr/bin/env bash
# Builds TorchSharp's native library (libLibTorchSharp.so) from its C++ sources against an installed libtorch,
# for a machine whose libtorch is not the version the NuGet build was linked against (run.sh calls it when the
# stock library does not bind). It compiles the sources directly with the libtorch headers and links against
# libtorch, libtorch_cpu and libc10 only, as the NuGet build does: the same binary then serves CPU and CUDA
# (libtorch_cuda.so is loaded by TorchSharp at run time).
#   build-libtorchsharp.sh SOURCES.tar.xz TORCH_DIR OUT.so
# SOURCES.tar.xz holds src/Native of dotnet/TorchSharp at the commit of the TorchSharp package (pack.sh);
# TORCH_DIR is a torch installation (its include/ and lib/), e.g. a Python venv's site-packages/torch.
set -euo pipefail
fail() { echo "build-libtorchsharp.sh: $*" >&2; exit 1; }
(( $# == 3 )) || fail "usage: build-libtorchsharp.sh SOURCES.tar.xz TORCH_DIR OUT.so"
sources=$1 torch_dir=$2 out=$3
[[ -f $sources ]] || fail "no TorchSharp sources at $sources (bench/gpu/pack.sh puts them in bench/gpu/carry)"
[[ -f $torch_dir/include/torch/torch.h || -f $torch_dir/include/torch/csrc/api/include/torch/torch.h ]] ||
  fail "no libtorch headers under $torch_dir/include"
command -v c++ >/dev/null || fail "no C++ compiler (c++) on this machine"
work=$(mktemp -d /tmp/libtorchsharp-build.XXXXXX)
if command -v xz >/dev/null; then tar -xJf "$sources" -C "$work"
else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$sources" "$work"; fi
native=$work/src/Native
[[ -d $native/LibTorchSharp ]] || fail "$sources does not hold src/Native/LibTorchSharp"

# Headers a newer libtorch dropped, as one-line forwards to what replaced them.
shim=$work/shim
if [[ ! -f $torch_dir/include/c10/util/Optional.h ]]; then
  mkdir -p "$shim/c10/util"
  printf '#pragma once\n#include <optional>\nnamespace c10 { using std::optional; using std::nullopt; using std::nullopt_t; using std::make_optional; }\n' \
    > "$shim/c10/util/Optional.h"
fi

abi=1
if [[ -n ${TORCH_PYTHON:-} ]]; then abi=$("$TORCH_PYTHON" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'); fi
flags=(-O2 -fPIC -std=c++17 -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$abi -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP
       -Wno-deprecated-declarations -I"$shim" -I"$native" -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
mkdir -p "$work/obj"
export work native
printf '%s\n' "$native"/LibTorchSharp/*.cpp "$native"/LibTorchSharp/*.c |
  xargs -P "$(nproc)" -I{} sh -c 'f={}; o=$work/obj/$(basename "$f").o
    case $f in *.c) cc -O2 -fPIC -c "$f" -o "$o" ;; *) c++ '"${flags[*]}"' -c "$f" -o "$o" ;; esac || { echo "failed: $f" >&2; exit 255; }'
c++ -shared -o "$out" "$work"/obj/*.o -L"$torch_dir/lib" -ltorch -ltorch_cpu -lc10 \
    -Wl,-rpath,'$ORIGIN' -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,--build-id=sha1
rm -rf "$work"
echo "built $out against $torch_dir"
