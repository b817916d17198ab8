// DMA_EXPECT: required expression .*next
// A mixer without next(history) is not a Mixer; the diagnostic names the missing member.
#include <dma/core/concepts.hpp>
struct NoNext {
  void reset(const dma::EpisodeSpec&) {}
  std::string name() const { return "x"; }
};
static_assert(dma::Mixer<NoNext>);
int main() {}
