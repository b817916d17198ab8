#include <catch2/catch.hpp>

#include "env_cpt_fixture.hpp"

#include <dma/core/concepts.hpp>
#include <dma/env/cpt.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_env_cpt {

using dma::Feedback;
using dma::Field;
using dma::Mixture;
using Env = dma::env::Cpt<>;

namespace {

const std::shared_ptr<const dma::env::CptWorld<>>& shared_world() {
  static const auto w = cpt_test::world();
  return w;
}

void check_same(const Feedback& a, const Feedback& b) {
  REQUIRE(a.loss.size() == b.loss.size());
  REQUIRE(a.score.size() == b.score.size());
  for (std::size_t i = 0; i < a.loss.size(); ++i) CHECK(a.loss[i] == b.loss[i]);
  for (std::size_t i = 0; i < a.score.size(); ++i) CHECK(a.score[i] == b.score[i]);
  CHECK(a.score_name == b.score_name);
  CHECK(a.tokens == b.tokens);
  CHECK(a.flops == b.flops);
  CHECK(a.seconds == b.seconds);  // nominal cost: deterministic
}

const std::vector<Mixture> kSchedule{{0.4, 0.4, 0.2}, {0.2, 0.2, 0.6}, {0.0, 0.5, 0.5}, {0.1, 0.1, 0.8}};

std::filesystem::path tmp(const std::string& name) {
  return cpt_test::cache_dir() / name;
}

}  // namespace

TEST_CASE("cpt: models dma::Environment and reports one loss per domain and one probe per field", "[env][cpu]") {
  STATIC_REQUIRE(dma::Environment<Env>);
  Env e(shared_world());
  const auto spec = e.spec();
  REQUIRE(spec.num_domains() == 3);
  CHECK(spec.stages == 4);
  CHECK(spec.domains[2].field == Field::Target);
  const Feedback f0 = e.reset(1);
  CHECK(f0.loss.size() == 3);
  REQUIRE(f0.score_name.size() == 2);
  CHECK(f0.score_name[0] == "probe_source.gold_logprob");
  CHECK(f0.score_field[0] == Field::Source);
  CHECK(f0.score_name[1] == "probe_math.gold_logprob");
  CHECK(f0.score_field[1] == Field::Target);
  CHECK(f0.tokens == 0);
  // The base model has seen the source field only: its math loss is the highest.
  CHECK(f0.loss[2] > f0.loss[0]);
  for (double l : f0.loss) CHECK((l > 0.1 && l < 9.0));
  const Feedback f1 = e.step(kSchedule[0]);
  CHECK(f1.tokens == 512);  // 4 steps of 4 x 32
  CHECK(e.tokens_seen() == 512);
  CHECK(f1.flops > 0);
  // seconds is the nominal cost (FLOPs at a fixed rate), not wall time; wall time is in timing().
  CHECK(f1.seconds == f1.flops / dma::env::kNominalFlopsPerSecond);
  CHECK(e.timing().last_train_seconds > 0);
  CHECK(e.timing().last_eval_seconds > 0);
}

TEST_CASE("cpt: the same seed gives an identical trajectory, another seed another one", "[env][cpu]") {
  Env a(shared_world()), b(shared_world());
  check_same(a.reset(7), b.reset(7));
  for (const auto& m : kSchedule) check_same(a.step(m), b.step(m));
  Env c(shared_world());
  c.reset(8);
  Feedback fa = a.steps()[0].feedback, fc = c.step(kSchedule[0]);
  CHECK(fa.loss != fc.loss);  // a different data order
  // Evaluation is fixed: evaluating the same parameters twice gives the same numbers.
  check_same(Env(shared_world()).reset(3), Env(shared_world()).reset(99));
}

TEST_CASE("cpt: train() trains a stage exactly as step() does, without evaluation or history", "[env][cpu]") {
  Env a(shared_world()), b(shared_world());
  a.reset(5);
  b.reset(5);
  for (const auto& m : kSchedule) {
    a.step(m);
    b.train(m);
  }
  CHECK(b.stage() == a.stage());
  CHECK(b.steps().empty());
  CHECK(b.tokens_seen() == a.tokens_seen());
  CHECK(b.state().serialize() == a.state().serialize());  // parameters, moments, step, RNG
  CHECK_THROWS_WITH(b.train(kSchedule[0]), Catch::Contains("beyond"));
  CHECK_THROWS_WITH(b.save(tmp("train-only.cpt")), Catch::Contains("no history"));
}

TEST_CASE("cpt: fork continues exactly like the original and does not disturb it", "[env][cpu]") {
  Env a(shared_world());
  a.reset(11);
  a.step(kSchedule[0]);
  a.step(kSchedule[1]);
  Env b = a.fork();
  CHECK(b.stage() == 2);
  CHECK(b.steps().size() == 2);
  const Feedback fb3 = b.step(kSchedule[2]);
  const Feedback fa3 = a.step(kSchedule[2]);
  check_same(fa3, fb3);
  // A branch that goes elsewhere leaves the original's next stage unchanged.
  Env c = a.fork();
  c.step({0.0, 0.0, 1.0});
  Env d = a.fork();
  check_same(a.step(kSchedule[3]), d.step(kSchedule[3]));
}

TEST_CASE("cpt: save then load gives an identical next step; bad files are rejected", "[env][cpu]") {
  Env a(shared_world());
  a.reset(5);
  a.step(kSchedule[0]);
  a.step(kSchedule[1]);
  const auto path = tmp("run.cpt");
  a.save(path);
  Env b(shared_world());
  b.load(path);
  CHECK(b.stage() == 2);
  CHECK(b.run_seed() == 5);
  CHECK(b.tokens_seen() == a.tokens_seen());
  REQUIRE(b.steps().size() == 2);
  CHECK(b.steps()[1].mixture == kSchedule[1]);
  CHECK(b.steps()[1].feedback.loss == a.steps()[1].feedback.loss);
  check_same(a.step(kSchedule[2]), b.step(kSchedule[2]));
  check_same(a.step(kSchedule[3]), b.step(kSchedule[3]));

  // A flipped byte fails the checksum, naming the file.
  std::string bytes = dma::io::read_file(path);
  bytes[bytes.size() / 2] ^= 0x20;
  const auto bad = tmp("bad.cpt");
  dma::io::atomic_write(bad, bytes);
  CHECK_THROWS_WITH(b.load(bad), Catch::Contains("bad.cpt"));
  // A run of another configuration does not load.
  auto cfg = cpt_test::config();
  cfg.peak_lr = 1e-3f;
  Env other(cpt_test::world(cfg));
  CHECK_THROWS_WITH(other.load(path), Catch::Contains("world fingerprint"));
}

TEST_CASE("cpt: invalid mixtures and steps past the budget raise dma::Error", "[env][cpu]") {
  Env e(shared_world());
  e.reset(1);
  CHECK_THROWS_AS(e.step({0.5, 0.5}), dma::Error);
  CHECK_THROWS_WITH(e.step({0.5, 0.5}), Catch::Contains("stage 1"));
  CHECK_THROWS_AS(e.step({0.5, std::nan(""), 0.5}), dma::Error);
  CHECK_THROWS_AS(e.step({1.2, -0.2, 0.0}), dma::Error);
  CHECK_THROWS_AS(e.step({0.5, 0.5, 0.5}), dma::Error);
  CHECK(e.stage() == 0);  // nothing was trained
  for (std::size_t t = 0; t < 4; ++t) e.step({0.3, 0.3, 0.4});
  CHECK_THROWS_WITH(e.step({0.3, 0.3, 0.4}), Catch::Contains("beyond"));
}

TEST_CASE("cpt: a hidden limited target pool is repeated (epochs > 1) and is invisible in Feedback", "[env][cpu]") {
  auto cfg = cpt_test::config();
  cfg.pool_tokens["math"] = 300;  // ~9 windows of 33 tokens; 4 target-only stages read ~2k tokens
  Env lim(cpt_test::world(cfg)), full(shared_world());
  CHECK(lim.pool_tokens(2) == 300);
  CHECK(full.pool_tokens(2) > 10000);
  const Feedback l0 = lim.reset(3), f0 = full.reset(3);
  check_same(l0, f0);  // same base model, same evaluation
  CHECK(lim.spec().domains.size() == full.spec().domains.size());
  CHECK(lim.spec().stages == full.spec().stages);
  Feedback lf, ff;
  for (int t = 0; t < 4; ++t) {
    lf = lim.step({0.0, 0.0, 1.0});
    ff = full.step({0.0, 0.0, 1.0});
  }
  CHECK(lim.epochs(2) > 4.0);
  CHECK(full.epochs(2) < 0.5);
  CHECK(lim.domain_tokens(2) == full.domain_tokens(2));
  // Same shape and names: nothing in the feedback tells a mixer about the pool.
  CHECK(lf.loss.size() == ff.loss.size());
  CHECK(lf.score_name == ff.score_name);
  CHECK(lf.tokens == ff.tokens);
  CHECK(lf.flops == ff.flops);
  CHECK(lf.loss[2] != ff.loss[2]);  // ... but it does change what is learned

  // Instance seeds draw the pool from target_pool_choices.
  auto cfg2 = cpt_test::config();
  cfg2.target_pool_choices = {200, 0};
  const auto w2 = cpt_test::world(cfg2);
  std::size_t limited = 0, unlimited = 0;
  for (std::uint64_t s = 0; s < 16; ++s) {
    const auto p = w2->pools(s);
    CHECK(p[0] == 0);
    (p[2] == 200 ? limited : unlimited) += 1;
    CHECK((p[2] == 200 || p[2] == 0));
  }
  CHECK(limited > 0);
  CHECK(unlimited > 0);
}

TEST_CASE("cpt: target-only CPT lowers target loss and raises source loss; a 50% mix lies between", "[env][cpu]") {
  Env tgt(shared_world()), mix(shared_world());
  const Feedback base = tgt.reset(2);
  mix.reset(2);
  Feedback ft, fm;
  for (int t = 0; t < 4; ++t) {
    ft = tgt.step({0.0, 0.0, 1.0});
    fm = mix.step({0.25, 0.25, 0.5});
  }
  const double src_base = 0.5 * (base.loss[0] + base.loss[1]), src_tgt = 0.5 * (ft.loss[0] + ft.loss[1]),
               src_mix = 0.5 * (fm.loss[0] + fm.loss[1]);
  INFO("source bpb base " << src_base << " target-only " << src_tgt << " mixed " << src_mix);
  INFO("math bpb base " << base.loss[2] << " target-only " << ft.loss[2] << " mixed " << fm.loss[2]);
  CHECK(ft.loss[2] < base.loss[2] - 0.1);
  CHECK(src_tgt > src_base);
  CHECK(src_mix < src_tgt);
  CHECK(fm.loss[2] < base.loss[2]);
  CHECK(ft.score[1] > base.score[1]);  // the target probe's gold log-prob rises
}

TEST_CASE("cpt: final_eval adds exact match and uses more windows than the per-stage evaluation", "[env][cpu]") {
  Env e(shared_world());
  e.reset(4);
  e.step({0.2, 0.2, 0.6});
  const Feedback f = e.final_eval();
  CHECK(f.loss.size() == 3);
  bool exact = false;
  for (std::size_t i = 0; i < f.score_name.size(); ++i)
    if (f.score_name[i] == "probe_math.exact") {
      exact = true;
      CHECK((f.score[i] >= 0.0 && f.score[i] <= 1.0));
    }
  CHECK(exact);
  CHECK(e.world().final_set().windows() == 16);
  CHECK(e.world().fast_set().windows() == 8);
  CHECK(e.stage() == 1);  // not a stage
  CHECK(f.tokens == e.tokens_seen());
}

TEST_CASE("cpt: multiple-choice probe items rank the true continuation among four, scored as accuracy", "[env][cpu]") {
  const auto& w = *shared_world();
  const auto& ec = w.config().eval;
  const std::size_t T = w.config().base.model.context;
  const auto plain = dma::env::CptEvalSet::build(w.data(), ec, T, 4, 6, 0);
  const auto set = dma::env::CptEvalSet::build(w.data(), ec, T, 4, 6, 0, 12);
  REQUIRE(set.probes().size() == 2);
  for (std::size_t k = 0; k < 2; ++k) {
    const auto& p = set.probes()[k];
    CHECK(plain.probes()[k].choice.empty());
    CHECK(p.gold.size() == plain.probes()[k].gold.size());  // the gold items do not move
    REQUIRE(p.choice.size() == 12);
    std::vector<int> at(4, 0);
    for (const auto& it : p.choice) {
      REQUIRE(it.choices.size() == 4);
      for (std::size_t a = 0; a < 4; ++a)
        for (std::size_t b = a + 1; b < 4; ++b) CHECK(it.choices[a] != it.choices[b]);
      ++at[it.gold];
    }
    for (int n : at) CHECK(n == 3);  // the gold position cycles
  }
  // The math items' gold is the answer that follows the question in its own document.
  for (const auto& it : set.probes()[1].choice) {
    CHECK(it.context.find("Question:") != std::string::npos);
    const auto& doc_answer = it.choices[it.gold];
    const auto n = doc_answer.find(" + ");
    REQUIRE(n != std::string::npos);
    CHECK(it.context.find("has " + doc_answer.substr(1, n - 1) + " apples") != std::string::npos);
  }
  // Scores: gold log-prob per probe, then choice accuracy per probe equal to a direct scoring.
  dma::model::Llama<> net(w.config().base.model, 8, 1);
  const float* params = w.base().state.params.data();
  const auto r = set.evaluate(net, params);
  REQUIRE(r.score_name.size() == 4);
  CHECK(r.score_name[2] == "probe_source.choice");
  CHECK(r.score_name[3] == "probe_math.choice");
  CHECK(r.score_field[3] == Field::Target);
  dma::model::Scorer<dma::backend::Cpu> scorer(net, params);
  for (std::size_t k = 0; k < 2; ++k) {
    const auto c = dma::eval::score_choices(scorer, std::span<const dma::data::ChoiceItem>(set.probes()[k].choice));
    CHECK(r.score[2 + k] == c.accuracy_norm);
    CHECK((r.score[2 + k] >= 0.0 && r.score[2 + k] <= 1.0));
  }
  CHECK(r.flops > plain.evaluate(net, params).flops);
  CHECK(r.score[0] == plain.evaluate(net, params).score[0]);
}

TEST_CASE("cpt: eval.choice_items adds multiple-choice accuracy to every stage's feedback", "[env][cpu]") {
  auto cfg = cpt_test::config();
  cfg.eval.choice_items = 8;
  Env e(cpt_test::world(cfg));
  const Feedback f = e.reset(1);
  REQUIRE(f.score_name.size() == 4);
  CHECK(f.score_name[2] == "probe_source.choice");
  CHECK(f.score_name[3] == "probe_math.choice");
  for (std::size_t i = 2; i < 4; ++i) CHECK((f.score[i] >= 0.0 && f.score[i] <= 1.0));
  // Accuracy over 8 items moves in steps of 1/8.
  CHECK(f.score[2] * 8 == Approx(std::round(f.score[2] * 8)));
  CHECK(e.step({0.2, 0.2, 0.6}).score_name == f.score_name);
}

TEST_CASE("cpt: config keys are read from JSON and bad values name the key", "[env][cpu]") {
  const auto j = dma::Json::parse(R"({"stages": 6, "tokens_per_stage": 32768, "peak_lr": 3e-4,
      "pool_tokens": {"math": 20000}, "target_pool_choices": [20000, 0],
      "base": {"model": {"d_model": 64, "layers": 2, "heads": 2, "context": 64}, "tokens": 100000},
      "eval": {"windows": 96}})");
  const auto c = dma::env::CptConfig::from_json(j, "test.json");
  CHECK(c.stages == 6);
  CHECK(c.steps_per_stage() == 64);  // 32768 / (8 x 64)
  CHECK(c.pool_tokens.at("math") == 20000);
  CHECK(c.base.model.d_model == 64);
  CHECK(c.eval.windows == 96);
  CHECK(c.warmup_steps() == 23);  // 6% of 384
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json::parse(R"({"stages": 0})"), "x.json"),
                    Catch::Contains("x.json") && Catch::Contains("stages"));
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json::parse(R"({"pool_tokens": {"math": -3}})"), "x.json"),
                    Catch::Contains("pool_tokens.math"));
  CHECK(c.lr_schedule == "cosine");
  CHECK(c.decay_start_stage() == c.stages);  // cosine: no decay phase
  CHECK(!c.to_json().contains("lr_schedule"));  // the default keeps the fingerprints of earlier worlds
  const auto w = dma::env::CptConfig::from_json(
      dma::Json::parse(R"({"stages": 12, "tokens_per_stage": 4096, "lr_schedule": "wsd", "decay_frac": 0.25,
          "base": {"model": {"d_model": 64, "layers": 2, "heads": 2, "context": 64}, "tokens": 100000}})"), "w.json");
  CHECK(w.total_steps() == 96);
  CHECK(w.decay_steps() == 24);
  CHECK(w.decay_start_stage() == 9);  // stages 10-12 (1-based) decay
  CHECK(w.to_json().at("lr_schedule") == "wsd");
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json::parse(R"({"lr_schedule": "step"})"), "x.json"),
                    Catch::Contains("x.json") && Catch::Contains("lr_schedule"));
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json::parse(R"({"decay_frac": 0})"), "x.json"),
                    Catch::Contains("decay_frac"));
  CHECK(!c.to_json().at("eval").contains("choice_items"));
  const auto mc = dma::env::CptConfig::from_json(dma::Json::parse(R"({"eval": {"choice_items": 16}})"), "m.json");
  CHECK(mc.eval.choice_items == 16);
  CHECK(mc.to_json().at("eval").at("choice_items") == 16);
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json::parse(R"({"eval": {"final_choice_items": 2}})"), "x.json"),
                    Catch::Contains("x.json") && Catch::Contains("final_choice_items"));
  auto bad = cpt_test::config();
  bad.pool_tokens["nope"] = 10;
  CHECK_THROWS_WITH(cpt_test::world(bad), Catch::Contains("nope"));
}

}  // namespace dma_test_env_cpt
