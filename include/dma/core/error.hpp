// dma/core/error.hpp: the error vocabulary of the whole library.
// dma::Error is thrown for bad input, IO and environment problems (its message names the file
// or message, the field and what was expected); DMA_ASSERT guards programming errors
// (file:line, abort; compiled out with DMA_NO_DEBUG). Every layer of the data flow uses these.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace dma {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Throws dma::Error with the pieces streamed together: fail("trajectory store ", path, ": ...").
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace dma

#ifdef DMA_NO_DEBUG
#define DMA_ASSERT(cond, msg) ((void)0)
#else
#define DMA_ASSERT(cond, msg)                                                          \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__, __LINE__, \
                   #cond, msg);                                                        \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
#endif
