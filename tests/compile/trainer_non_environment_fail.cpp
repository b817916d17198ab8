// DMA_EXPECT: template argument 1 \(Env\) must model dma::Environment
// A Trainer over something that cannot be stepped/forked names the Environment concept.
#include <dma/reward/balanced.hpp>
#include <dma/trainer/trainer.hpp>
struct NotAnEnv {
  dma::EpisodeSpec spec() const { return {}; }
};
using T = dma::Trainer<NotAnEnv, dma::reward::Balanced>;
T* p = nullptr;
int main() { return sizeof(T) > 0 ? 0 : 1; }
