// tests/support/temp_dir.hpp: TempDir, a scratch folder for one test (removed on exit), shared by
// the unit and integration tests that write files. The name carries the process id because ctest
// runs every test case as its own process, in parallel. Test-only; included by relative path
// ("../support/temp_dir.hpp") so the test build needs no extra include directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace dma::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / ("dma_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;  // never throw from a destructor; a leftover folder is harmless
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace dma::test
