// dma/mixers/uniform.hpp: Uniform, the same weight on every domain at every stage.
// The reference point of the results table (gap closed is measured from it). A Mixer.
// Tested in tests/unit/mixers_baselines.cpp.
#pragma once

#include "dma/core/concepts.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

class Uniform {
 public:
  void reset(const EpisodeSpec& spec) { m_d = spec.num_domains(); }
  Mixture next(const History&) { return space::uniform(m_d); }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback
  [[nodiscard]] std::string name() const { return "uniform"; }

 private:
  std::size_t m_d = 0;
};

static_assert(Mixer<Uniform>);

}  // namespace dma::mixers
