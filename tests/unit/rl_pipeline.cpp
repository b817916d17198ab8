#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/env/sim.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/rl/bc.hpp>
#include <dma/rl/pipeline.hpp>
#include <dma/rl/sft.hpp>
#include <dma/space/runtime.hpp>
#include <dma/trainer/trainer.hpp>

#include <set>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_rl_pipeline {

namespace {

// 6 simulated instances (D = 2..4) x 8 trajectories of 10 stages: small enough for seconds.
std::vector<dma::Trajectory> sim_data(std::size_t instances = 6, std::size_t per_instance = 8) {
  const dma::env::SimFamily fam{};
  auto make = [&](std::uint64_t seed) { return dma::env::SimEnv(fam, seed, 2 + seed % 3); };
  dma::Trainer<dma::env::SimEnv, dma::reward::Balanced> tr(make, dma::reward::Balanced{});
  std::vector<std::uint64_t> seeds;
  for (std::size_t i = 0; i < instances; ++i) seeds.push_back(100 + i);
  dma::collect::CollectOptions opt;
  opt.per_instance = per_instance;
  opt.prefix_stages = 3;
  opt.branches = 4;
  opt.seed = 3;
  return tr.collect(dma::collect::Mixed{}, seeds, opt);
}

dma::rl::PipelineConfig fast_config() {
  dma::rl::PipelineConfig c;
  c.sft.epochs = 6;
  c.bc.epochs = 4;
  c.cql.epochs = 4;
  c.cql.warmup_epochs = 2;
  c.holdout_fraction = 0.34;
  return c;
}

}  // namespace

TEST_CASE("rl pipeline: config round-trips through JSON and rejects unknown or bad keys", "[rl][cpu]") {
  dma::rl::PipelineConfig c;
  c.learner = dma::rl::PipelineLearner::BcCql;
  c.reward.kind = "worst_domain";
  c.reward.target_weights = {0.3, 0.7};
  c.cql.q_weight = 0.2;
  c.cql.actor = dma::rl::ActorMode::Awr;
  c.sft.top_fraction = 0.5;
  const dma::Json j = c.to_json();
  const auto back = dma::rl::PipelineConfig::from_json(j, "test");
  CHECK(back.to_json() == j);
  CHECK(back.learner == dma::rl::PipelineLearner::BcCql);
  // Defaults are the documented ones (docs/AGENT.md "Training pipeline").
  const auto d = dma::rl::PipelineConfig::from_json(dma::Json::object(), "test");
  CHECK(d.learner == dma::rl::PipelineLearner::SftCql);
  CHECK(d.cql.epochs == 10);
  CHECK(d.cql.warmup_epochs == 5);
  CHECK(d.sft.top_fraction == 0.25);
  CHECK(d.holdout_fraction == 0.1);

  CHECK_THROWS_WITH(dma::rl::PipelineConfig::from_json({{"lerner", "sft"}}, "cfg.json"),
                    Catch::Contains("cfg.json") && Catch::Contains("unknown key 'lerner'"));
  CHECK_THROWS_WITH(dma::rl::PipelineConfig::from_json({{"cql", {{"q_wieght", 1}}}}, "cfg.json"),
                    Catch::Contains("cql") && Catch::Contains("q_wieght"));
  CHECK_THROWS_WITH(dma::rl::PipelineConfig::from_json({{"learner", "ppo"}}, "cfg.json"),
                    Catch::Contains("field 'learner'"));
  CHECK_THROWS_WITH(dma::rl::PipelineConfig::from_json({{"holdout_fraction", 1.0}}, "cfg.json"),
                    Catch::Contains("holdout_fraction"));
  CHECK_THROWS_WITH(dma::rl::PipelineConfig::from_json({{"cql", {{"actor", "sac"}}}}, "cfg.json"),
                    Catch::Contains("cql.actor"));
}

TEST_CASE("rl pipeline: reward variants relabel from the stored feedback", "[rl][cpu]") {
  const auto data = sim_data(2, 4);
  // Stored rewards are Balanced{0.5}: relabelling with "balanced" reproduces them.
  dma::rl::RewardRelabel rr;
  rr.kind = "balanced";
  const auto same = dma::rl::apply_reward_relabel(data, rr);
  REQUIRE(same.size() == data.size());
  for (std::size_t k = 0; k < data.size(); ++k) CHECK(same[k].total_return() == Approx(data[k].total_return()).margin(1e-12));

  // Worst-domain and mean-only returns telescope to the final level under that reward.
  for (const auto& [kind, ww] : {std::pair{std::string("worst_domain"), 1.0}, std::pair{std::string("source_mean"), 0.0}}) {
    rr.kind = kind;
    const auto d = dma::rl::apply_reward_relabel(data, rr);
    for (const auto& tr : d) {
      const double want = dma::reward::balanced_level(tr.history.last(), tr.history.initial,
                                                      tr.history.spec.target_weight, ww);
      CHECK(tr.total_return() == Approx(want).margin(1e-12));
    }
  }
  rr.kind = "target_only";
  const auto tgt = dma::rl::apply_reward_relabel(data, rr);
  CHECK(tgt[0].total_return() == Approx(dma::reward::mean_gain(tgt[0].history.last(), tgt[0].history.initial,
                                                                dma::Field::Target)).margin(1e-12));

  // Several objective weights: one copy per weight, the spec carries the weight.
  rr.kind = "balanced";
  rr.target_weights = {0.2, 0.8};
  const auto two = dma::rl::apply_reward_relabel(data, rr);
  REQUIRE(two.size() == 2 * data.size());
  CHECK(two.front().history.spec.target_weight == 0.2);
  CHECK(two.back().history.spec.target_weight == 0.8);
  CHECK(two.front().episode_seed != two[data.size()].episode_seed);

  rr.kind = "stored";
  CHECK_THROWS_WITH(dma::rl::apply_reward_relabel(data, rr), Catch::Contains("reward.target_weights"));
  rr.target_weights.clear();
  rr.kind = "median";
  CHECK_THROWS_WITH(dma::rl::apply_reward_relabel(data, rr), Catch::Contains("reward.kind"));
}

TEST_CASE("rl pipeline: Q sanity of a critic is exact on a hand-made case", "[rl][cpu]") {
  // An untrained critic outputs some Q; the realised return-to-go is what the rewards say.
  auto data = sim_data(2, 2);
  const dma::agent::Agent a({}, 3);
  const auto j = dma::rl::q_sanity(a, data, 1.0);
  CHECK(j["n"] == data.size() * 10);
  double mg = 0;
  for (const auto& tr : data) {
    double rtg = tr.total_return();
    for (const auto& st : tr.history.steps) mg += rtg, rtg -= st.reward;
  }
  CHECK(j["mean_return_to_go"].get<double>() == Approx(mg / double(data.size() * 10)).margin(1e-12));
  CHECK(dma::rl::q_sanity(a, {}, 1.0)["n"] == 0);
}

TEST_CASE("rl pipeline: the held-out split is by instance and deterministic", "[rl][cpu]") {
  const auto data = sim_data(6, 2);
  std::vector<dma::Trajectory> tr, held, tr2, held2;
  dma::rl::split_by_instance(data, 0.34, 9, tr, held);
  dma::rl::split_by_instance(data, 0.34, 9, tr2, held2);
  std::set<std::uint64_t> ti, hi;
  for (const auto& t : tr) ti.insert(t.episode_seed);
  for (const auto& t : held) hi.insert(t.episode_seed);
  CHECK(hi.size() == 3);  // ceil(0.34 * 6)
  CHECK(ti.size() == 3);
  for (auto s : hi) CHECK(ti.count(s) == 0);
  CHECK(tr.size() + held.size() == data.size());
  REQUIRE(held2.size() == held.size());
  CHECK(held2[0].id == held[0].id);
  dma::rl::split_by_instance(data, 0.0, 9, tr, held);
  CHECK(held.empty());
}

TEST_CASE("rl pipeline: sft+cql trains both agents and reports curves and Q sanity", "[rl][cpu]") {
  const auto data = sim_data();
  const auto cfg = fast_config();
  const auto res = dma::rl::train_agents(data, cfg);
  REQUIRE(res.warm);
  REQUIRE(res.cql);
  const auto& r = res.report;
  CHECK(r["learner"] == "sft+cql");
  CHECK(r["learners"]["sft"]["curve"].size() == 6);
  CHECK(r["learners"]["cql"]["curve"].size() == 4);
  CHECK(r["learners"]["sft"]["curve"].back().get<double>() < r["learners"]["sft"]["curve"].front().get<double>());
  CHECK(r["seconds"]["sft"].get<double>() > 0);
  CHECK(r["trajectories"]["instances_held_out"] == 3);
  const auto& q = r["q_sanity"]["held_out"];
  CHECK(q["n"].get<std::size_t>() == r["trajectories"]["held_out"].get<std::size_t>() * 10);
  INFO("held-out Q sanity: " << q.dump());
  CHECK(q["pearson"].get<double>() >= -1.0);
  CHECK(q["pearson"].get<double>() <= 1.0);
  CHECK(std::abs(q["pearson_within_stage"].get<double>()) <= 1.0);
  CHECK(std::isfinite(q["mean_error"].get<double>()));
  // SFT and CQL agents differ (CQL moved the policy) but both act.
  dma::History h;
  h.spec = data[0].history.spec;
  h.initial = data[0].history.initial;
  const auto a = res.warm->act(h), b = res.cql->act(h);
  REQUIRE(a.size() == b.size());
  CHECK(&res.final_agent() == &*res.cql);
}

TEST_CASE("rl pipeline: learner switches run only what they name", "[rl][cpu]") {
  const auto data = sim_data(4, 4);
  auto cfg = fast_config();
  cfg.learner = dma::rl::PipelineLearner::Cql;
  auto res = dma::rl::train_agents(data, cfg);
  CHECK_FALSE(res.warm);
  REQUIRE(res.cql);
  CHECK(res.report["learners"].size() == 1);
  // No warm start: the actor's BC term pulls toward the data's mixtures.
  CHECK(res.report["learners"]["cql"]["extra"]["config"]["bc_target"] == "dataset");

  cfg.learner = dma::rl::PipelineLearner::Bc;
  res = dma::rl::train_agents(data, cfg);
  REQUIRE(res.warm);
  CHECK_FALSE(res.cql);
  CHECK(res.report["learners"].contains("bc"));
  CHECK_FALSE(res.report.contains("q_sanity"));
  CHECK(&res.final_agent() == &*res.warm);
}

TEST_CASE("rl pipeline: trained on several objective weights, the agent follows the weight", "[rl][cpu]") {
  // One stage, two domains; a mixture with target share x moves the target probe by +x and the
  // source probe by -x, so under Balanced the best x is low for a small target weight and high for
  // a large one. Trajectories at x = 0.2 and 0.7, relabelled under weights 0.1 and 0.9: SFT
  // imitates, per weight, the better half, so the weight input must move the agent's output.
  std::vector<dma::Trajectory> data;
  for (std::uint64_t k = 0; k < 16; ++k) {
    const double x = k % 2 ? 0.7 : 0.2;
    dma::Trajectory tr;
    tr.history.spec.domains = {{"src", dma::Field::Source}, {"tgt", dma::Field::Target}};
    tr.history.spec.stages = 1;
    tr.history.initial.loss = {2.0, 3.0};
    tr.history.initial.score = {0.0, 0.0};
    tr.history.initial.score_field = {dma::Field::Source, dma::Field::Target};
    dma::Step st;
    st.mixture = {1 - x, x};
    st.feedback = tr.history.initial;
    st.feedback.loss = {2.0 + 0.2 * x, 3.0 - 0.5 * x};
    st.feedback.score = {-x, x};
    tr.history.steps.push_back(st);
    tr.id = k;
    tr.episode_seed = 5;
    data.push_back(tr);
  }
  auto cfg = fast_config();
  cfg.learner = dma::rl::PipelineLearner::Sft;
  cfg.sft.epochs = 80;
  cfg.sft.top_fraction = 0.5;
  cfg.holdout_fraction = 0;
  cfg.reward.kind = "balanced";
  cfg.reward.target_weights = {0.1, 0.9};
  const auto res = dma::rl::train_agents(data, cfg);
  CHECK(res.report["trajectories"]["after_relabel"] == 32);
  CHECK(res.report["learners"]["sft"]["trajectories"] == 16);
  dma::History h;
  h.spec = data[0].history.spec;
  h.initial = data[0].history.initial;
  h.spec.target_weight = 0.1;
  const double lo = res.final_agent().act(h)[1];
  h.spec.target_weight = 0.9;
  const double hi = res.final_agent().act(h)[1];
  INFO("target share at weight 0.1: " << lo << ", at 0.9: " << hi);
  CHECK(lo == Approx(0.2).margin(0.08));
  CHECK(hi == Approx(0.7).margin(0.08));
  // Without the relabel (one stored weight), the weight input carries no information.
  cfg.reward = {};
  for (auto& tr : data) tr.history.steps[0].reward = 0.0;
  const auto flat = dma::rl::train_agents(data, cfg);
  h.spec.target_weight = 0.1;
  const double f_lo = flat.final_agent().act(h)[1];
  h.spec.target_weight = 0.9;
  CHECK(std::abs(flat.final_agent().act(h)[1] - f_lo) < 0.1);
}

// ---- BC (rl/bc.hpp) (one test program with the pipeline: CI builds fewer) ----
// A one-stage, two-domain toy: good trajectories put 0.7 on the target, bad ones 0.2, in equal
// numbers. SFT (top half by return) imitates the good ones; plain BC imitates the average.
namespace {

std::vector<dma::Trajectory> good_and_bad() {
  std::vector<dma::Trajectory> data;
  for (std::uint64_t k = 0; k < 32; ++k) {
    const bool good = k % 2 == 0;
    dma::Trajectory tr;
    tr.history.spec.domains = {{"src", dma::Field::Source}, {"tgt", dma::Field::Target}};
    tr.history.spec.stages = 1;
    tr.history.initial.loss = {2.0, 3.0};
    const double x = good ? 0.7 : 0.2;
    dma::Step st;
    st.mixture = {1 - x, x};
    st.feedback.loss = {2.0 + 0.1 * x, 3.0 - 0.5 * x};
    st.reward = good ? 1.0 : 0.0;
    tr.history.steps.push_back(st);
    tr.id = k;
    tr.episode_seed = 1;
    data.push_back(tr);
  }
  return data;
}

double target_share(const dma::agent::Agent& a) {
  dma::History h;
  h.spec.domains = {{"src", dma::Field::Source}, {"tgt", dma::Field::Target}};
  h.spec.stages = 1;
  h.initial.loss = {2.0, 3.0};
  return a.act(h)[1];
}

}  // namespace

TEST_CASE("bc: clones all trajectories (the average), SFT only the best", "[rl][cpu]") {
  const auto data = good_and_bad();
  dma::agent::Agent bc_agent({}, 3), sft_agent({}, 3);
  const auto rb = dma::rl::Bc({.epochs = 60}).fit(data, bc_agent);
  dma::rl::SftConfig sc;
  sc.top_fraction = 0.5;
  sc.epochs = 60;
  const auto rs = dma::rl::Sft(sc).fit(data, sft_agent);
  CHECK(rb.learner == "bc");
  CHECK(rb.trajectories == 32);
  CHECK(rs.trajectories == 16);
  // Cross-entropy to a 50/50 mixture of 0.2 and 0.7 is minimised at their mean, 0.45.
  CHECK(target_share(bc_agent) == Approx(0.45).margin(0.04));
  CHECK(target_share(sft_agent) == Approx(0.7).margin(0.04));
  CHECK_THROWS_AS(dma::rl::Bc({.batch = 0}), dma::Error);
}

}  // namespace dma_test_rl_pipeline
