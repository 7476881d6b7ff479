#!/usr/bin/env bash
# cibuildwheel before-all on macOS: build LLVM's OpenMP runtime (libomp) for
# $MACOSX_DEPLOYMENT_TARGET, for both x86_64 and arm64, so that delocate can
# bundle it into wheels tagged for that macOS.  (Homebrew's libomp bottle is
# built for the runner's own, newer macOS, and delocate rightly refuses to
# put it into a wheel for an older one.)
#
# meson's OpenMP detection with Apple clang (-Xpreprocessor -fopenmp) looks
# for Homebrew's libomp: in `brew --prefix libomp` when it is installed, else
# in /opt/homebrew/opt/libomp (arm64) or /usr/local/opt/libomp (x86_64).  So
# Homebrew's copy is removed and both of those paths point at this build.
# Not exercised in this project's own CI, which runs on Linux only.
set -euxo pipefail

: "${MACOSX_DEPLOYMENT_TARGET:?set MACOSX_DEPLOYMENT_TARGET}"
llvm=${LLVM_VERSION:-19.1.7}
prefix=/opt/fastgmm-libomp
url=https://github.com/llvm/llvm-project/releases/download/llvmorg-$llvm

work=$(mktemp -d)
cd "$work"
# A standalone openmp build needs LLVM's shared cmake modules beside it.
for part in openmp cmake; do
    curl -fsSL "$url/$part-$llvm.src.tar.xz" | tar -xJ
    mv "$part-$llvm.src" "$part"
done

for arch in x86_64 arm64; do
    cmake -S openmp -B "build-$arch" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_OSX_ARCHITECTURES="$arch" \
        -DCMAKE_OSX_DEPLOYMENT_TARGET="$MACOSX_DEPLOYMENT_TARGET" \
        -DCMAKE_INSTALL_PREFIX="$work/install-$arch" \
        -DCMAKE_INSTALL_NAME_DIR="$prefix/lib" \
        -DLIBOMP_INSTALL_ALIASES=OFF \
        -DLIBOMP_OMPD_SUPPORT=OFF \
        -DOPENMP_ENABLE_LIBOMPTARGET=OFF
    cmake --build "build-$arch" --parallel
    cmake --install "build-$arch"
done

# One universal dylib (absolute install name, so delocate finds it).
sudo mkdir -p "$prefix/lib" "$prefix/include"
sudo cp "$work"/install-arm64/include/omp*.h "$prefix/include/"
sudo lipo -create "$work"/install-{x86_64,arm64}/lib/libomp.dylib \
    -output "$prefix/lib/libomp.dylib"
lipo -info "$prefix/lib/libomp.dylib"
otool -l "$prefix/lib/libomp.dylib" | grep -A4 -E 'LC_BUILD_VERSION|LC_VERSION_MIN' | head -n 12

brew uninstall --ignore-dependencies libomp 2>/dev/null || true
for root in /opt/homebrew/opt/libomp /usr/local/opt/libomp; do
    sudo mkdir -p "$(dirname "$root")"
    sudo rm -rf "$root"
    sudo ln -s "$prefix" "$root"
done
