#!/usr/bin/env bash
# scripts/device_deps.sh: copies the header-only dependencies (Eigen, xtensor, xtl, nlohmann-json,
# Boost.Hana, Catch2, zlib) from this Debian machine into third_party_device/usr, a git-ignored
# prefix that travels to a GPU machine which has nvcc and CMake but none of our Debian -dev
# packages. There: cmake -DCMAKE_PREFIX_PATH=$PWD/third_party_device/usr -DZLIB_ROOT=... (see
# scripts/device_check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
P=third_party_device/usr
rm -rf third_party_device
mkdir -p $P/include/boost $P/lib/x86_64-linux-gnu/cmake $P/lib/cmake $P/share/cmake $P/share/eigen3 $P/lib/zlib
cp -r /usr/include/eigen3 /usr/include/xtensor /usr/include/xtl /usr/include/nlohmann /usr/include/catch2 $P/include/
cp -r /usr/include/boost/hana /usr/include/boost/hana.hpp /usr/include/boost/version.hpp /usr/include/boost/config /usr/include/boost/config.hpp $P/include/boost/
cp -r /usr/share/eigen3/cmake $P/share/eigen3/
cp -r /usr/lib/x86_64-linux-gnu/cmake/xtensor /usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0 \
      /usr/lib/x86_64-linux-gnu/cmake/boost_headers-1.74.0 /usr/lib/x86_64-linux-gnu/cmake/BoostDetectToolset-1.74.0.cmake \
      $P/lib/x86_64-linux-gnu/cmake/ 2>/dev/null || true
cp -r /usr/share/cmake/xtl /usr/share/cmake/nlohmann_json $P/share/cmake/
cp -r /usr/lib/cmake/Catch2 $P/lib/cmake/
cp /usr/lib/libCatch2WithMain.a $P/lib/ 2>/dev/null || cp "$(dpkg -L catch2 | grep libCatch2WithMain.a | head -1)" $P/lib/
mkdir -p $P/lib/zlib/include $P/lib/zlib/lib
cp /usr/include/zlib.h /usr/include/zconf.h $P/lib/zlib/include/
cp /usr/lib/x86_64-linux-gnu/libz.a $P/lib/zlib/lib/
du -sh third_party_device
