// DMA_EXPECT: template argument 2 \(Reward\) must model dma::Reward
// A Trainer whose Reward is not a dma::Reward fails with a sentence naming the concept.
#include <dma/env/sim.hpp>
#include <dma/trainer/trainer.hpp>
struct NotAReward {
  double operator()(const dma::Feedback&) const { return 0; }
};
int main() {
  dma::Trainer<dma::env::SimEnv, NotAReward> t(
      [](std::uint64_t s) { return dma::env::SimEnv(dma::env::SimFamily{}, s); });
  (void)t;
}
