#include <catch2/catch.hpp>

#include <dma/collect/mixed.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/agent.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/rl/pipeline.hpp>
#include <dma/space/runtime.hpp>
#include <dma/space/simplex.hpp>
#include <dma/trainer/trainer.hpp>

#include <filesystem>
#include <memory>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_agent_transfer {

// An agent trained on 3-domain instances is saved, loaded, and acts in spaces of other sizes:
// the checkpoint holds no D-shaped tensor (shared domain encoder and scorer) [ours; docs/AGENT.md].
namespace {

double field_share(const dma::Mixture& m, const dma::EpisodeSpec& spec, dma::Field f) {
  double s = 0;
  for (std::size_t i = 0; i < m.size(); ++i) s += spec.domains[i].field == f ? m[i] : 0.0;
  return s;
}

}  // namespace

TEST_CASE("agent transfer: trained with D = 3, loaded, acts with D = 2, 5, 8 and 16", "[agent][cpu]") {
  const dma::env::SimFamily fam{};
  auto make = [&](std::uint64_t seed) { return dma::env::SimEnv(fam, seed, 3); };
  dma::Trainer<dma::env::SimEnv, dma::reward::Balanced> tr(make, dma::reward::Balanced{});
  dma::collect::CollectOptions opt;
  opt.per_instance = 8;
  opt.prefix_stages = 3;
  opt.branches = 4;
  const auto data = tr.collect(dma::collect::Mixed{}, {11, 12, 13, 14}, opt);
  for (const auto& t : data) REQUIRE(t.history.spec.num_domains() == 3);
  dma::rl::PipelineConfig cfg;
  cfg.learner = dma::rl::PipelineLearner::Sft;
  cfg.sft.epochs = 10;
  cfg.holdout_fraction = 0;
  const auto res = dma::rl::train_agents(data, cfg);
  const auto path = std::filesystem::temp_directory_path() / "dma_agent_transfer_test.dmaa";
  res.final_agent().save(path);
  const auto loaded = std::make_shared<const dma::agent::Agent>(dma::agent::Agent::load(path));
  std::filesystem::remove(path);

  for (std::size_t D : {2u, 5u, 8u, 16u}) {
    INFO("D = " << D);
    // A whole closed-loop run on a simulated instance of D domains, never seen in training.
    dma::env::SimEnv env(fam, 777 + D, D);
    dma::mixers::AgentMixer mixer(loaded, "transfer");
    const auto run = dma::mixers::run_episode(mixer, env, dma::reward::Balanced{}, 1);  // validates every mixture
    REQUIRE(run.history.steps.size() == env.spec().stages);
    const auto& spec = run.history.spec;
    for (const auto& st : run.history.steps) {
      REQUIRE(st.mixture.size() == D);
      const double ts = field_share(st.mixture, spec, dma::Field::Target);
      // Neither field is starved: training data never went to the extremes.
      CHECK(ts > 0.02);
      CHECK(ts < 0.98);
    }
    // The loaded agent decides exactly as the trained one.
    dma::History h = run.history;
    h.steps.resize(4);
    const auto a = loaded->act(h), b = res.final_agent().act(h);
    for (std::size_t i = 0; i < D; ++i) CHECK(a[i] == Approx(b[i]).margin(1e-12));
  }

  // Splitting each source domain of a 3-domain history into two identical copies (D = 5) keeps
  // the trained agent's field shares: the field-size offset makes the output D-agnostic.
  dma::env::SimEnv env3(fam, 901, 3);
  dma::mixers::AgentMixer mixer(loaded, "transfer");
  const auto run3 = dma::mixers::run_episode(mixer, env3, dma::reward::Balanced{}, 2);
  dma::History h3 = run3.history;
  h3.steps.resize(5);
  dma::History h5 = h3;
  h5.spec.domains.clear();
  auto split = [&](const std::vector<double>& v) {
    std::vector<double> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const bool src = h3.spec.domains[i].field == dma::Field::Source;
      out.push_back(v[i]);
      if (src) out.push_back(v[i]);
    }
    return out;
  };
  for (const auto& d : h3.spec.domains) {
    h5.spec.domains.push_back(d);
    if (d.field == dma::Field::Source) h5.spec.domains.push_back({d.name + "_copy", d.field});
  }
  h5.initial.loss = split(h3.initial.loss);
  for (auto& st : h5.steps) {
    st.feedback.loss = split(st.feedback.loss);
    dma::Mixture m;
    for (std::size_t i = 0; i < st.mixture.size(); ++i) {
      const bool src = h3.spec.domains[i].field == dma::Field::Source;
      m.push_back(src ? st.mixture[i] / 2 : st.mixture[i]);
      if (src) m.push_back(st.mixture[i] / 2);
    }
    st.mixture = m;
  }
  REQUIRE(h5.spec.num_domains() == 3 + h3.spec.count(dma::Field::Source));
  const auto m3 = loaded->act(h3), m5 = loaded->act(h5);
  CHECK(field_share(m5, h5.spec, dma::Field::Target) ==
        Approx(field_share(m3, h3.spec, dma::Field::Target)).margin(1e-9));
}

}  // namespace dma_test_agent_transfer
