// tests/support/error_of.hpp: error_of(f), the message of the dma::Error that f throws ("no error"
// when it throws none), so a test can check that a bad input is rejected *for the right reason*
// (CHECK_THAT(error_of(...), Contains("field 'avg'"))). Test-only, included by relative path.
#pragma once

#include <string>

#include "dma/core/error.hpp"

namespace dma::test {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const dma::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace dma::test
