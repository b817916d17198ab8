// DMA_EXPECT: required expression .*fork
// An environment that cannot fork cannot be used for prefix-sharing collection.
#include <dma/core/concepts.hpp>
struct NoFork {
  dma::EpisodeSpec spec() const { return {}; }
  dma::Feedback reset(std::uint64_t) { return {}; }
  dma::Feedback step(const dma::Mixture&) { return {}; }
  void save(const std::filesystem::path&) const {}
  void load(const std::filesystem::path&) {}
  double tokens_seen() const { return 0; }
};
static_assert(dma::Environment<NoFork>);
int main() {}
