#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/agent/incremental.hpp>
#include <dma/core/rng.hpp>
#include <dma/space/simplex.hpp>

#include <memory>

// The incremental, tape-free actor the server uses decides exactly as Agent::act.
namespace {

dma::History random_history(std::size_t D, std::size_t stages, dma::Rng& rng) {
  dma::History h;
  for (std::size_t i = 0; i < D; ++i)
    h.spec.domains.push_back({"d" + std::to_string(i), i % 3 == 1 ? dma::Field::Target : dma::Field::Source});
  h.spec.stages = stages;
  h.spec.target_weight = rng.uniform();
  for (std::size_t i = 0; i < D; ++i) h.initial.loss.push_back(1.5 + rng.uniform());
  h.initial.score = {-1.0, -2.0};
  h.initial.score_field = {dma::Field::Source, dma::Field::Target};
  return h;
}

void add_stage(dma::History& h, const dma::Mixture& m, dma::Rng& rng) {
  dma::Step st;
  st.mixture = m;
  st.feedback = h.last();
  for (double& l : st.feedback.loss) l += 0.1 * (rng.uniform() - 0.5);
  for (double& s : st.feedback.score) s += 0.05 * (rng.uniform() - 0.5);
  h.steps.push_back(st);
}

}  // namespace

TEST_CASE("incremental actor: equals Agent::act along whole runs, across resets and sizes", "[agent][serve][cpu]") {
  // A non-trivial normalisation, as a trained agent has.
  auto agent = std::make_shared<dma::agent::Agent>(dma::agent::AgentConfig{}, 11);
  auto norm = dma::agent::FeatureNorm::identity();
  dma::Rng rng(4);
  for (Eigen::Index c = 0; c < norm.dom_mean.cols(); ++c) norm.dom_mean(0, c) = 0.1 * rng.normal(), norm.dom_sd(0, c) = 0.5 + rng.uniform();
  for (Eigen::Index c = 0; c < norm.glob_mean.cols(); ++c) norm.glob_mean(0, c) = 0.1 * rng.normal(), norm.glob_sd(0, c) = 0.5 + rng.uniform();
  agent->set_feature_norm(norm);
  std::shared_ptr<const dma::agent::Agent> a = agent;
  dma::agent::IncrementalActor inc(a);
  double worst = 0;
  for (std::size_t D : {2u, 3u, 7u, 64u}) {
    dma::History h = random_history(D, 12, rng);
    for (std::size_t t = 0; t <= 12; ++t) {
      const auto want = a->act(h);
      const auto got = inc.act(h);
      REQUIRE(got.size() == D);
      REQUIRE_NOTHROW(dma::space::validate_mixture(got, D));
      for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
      CHECK(inc.cached_tokens() == t + 1);
      if (t < 12) add_stage(h, dma::space::dirichlet(D, 1.0, rng), rng);
    }
    // A shorter or different history is recomputed from scratch, not read from the cache.
    h.steps.resize(3);
    const auto again = inc.act(h), ref = a->act(h);
    for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(again[i] - ref[i]));
    CHECK(inc.cached_tokens() == 4);
    // More stages than the spec announced still works (the caches grow).
    for (int k = 0; k < 12; ++k) add_stage(h, dma::space::dirichlet(D, 1.0, rng), rng);
    const auto longer = inc.act(h), lref = a->act(h);
    for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(longer[i] - lref[i]));
  }
  INFO("largest weight difference: " << worst);
  CHECK(worst < 1e-10);
}
