// tests/parity/parity_main.cpp: the one Catch2 main of the CUDA parity programs (compiled by g++,
// linked into every tests/parity/*.cu program). Without a usable CUDA device it returns 77, which
// ctest reports as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cuda_runtime_api.h>

#include <cstdio>

int main(int argc, char** argv) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    std::printf("no CUDA device (%s): skipping the [cuda] parity tests\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
