// A downstream program: includes the umbrella header, uses a few policies, prints "consumer ok".
#include <dma/dma.hpp>

#include <cstdio>

int main() {
  dma::Rng rng(7);
  const auto m = dma::space::dirichlet(4, 1.0, rng);
  dma::space::validate_mixture(m, 4);
  static_assert(dma::Backend<dma::backend::Cpu>);
  std::printf("consumer ok (entropy %.3f)\n", dma::space::entropy(m));
  return 0;
}
