// DMA_EXPECT: required expression .*r\(prev, next, m, ctx\)
// A reward must be callable on (prev feedback, next feedback, mixture, context).
#include <dma/core/concepts.hpp>
struct TwoArgs {
  double operator()(const dma::Feedback&, const dma::Feedback&) const { return 0; }
};
static_assert(dma::Reward<TwoArgs>);
int main() {}
