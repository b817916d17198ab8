// tests/parity/env/cuda_env.cpp: everything above the backend layer on backend::Cuda, against the
// same code on backend::Cpu: Llama<Cuda> (forward, logits, a 10-step training trajectory, the
// non-finite guard), TrainState<Cuda> (init, save/load across backends), env::Cpt<Cuda> (stages,
// fork, save/load), the evaluator and a collection run. Host code compiled by g++ (Eigen and
// the CPU model on one side, host.hpp on the other); examples/cuda/host_impl.cu (CMake: dma_cuda_host) holds the
// CUDA definitions. Strict FP32 GEMMs (the default), so docs/CUDA.md's model tolerances apply. Without
// a device the program returns 77 (ctest: skipped; tests/parity/parity_main.cpp).
#include <catch2/catch.hpp>

#include <dma/backend/cuda/host.hpp>
#include <dma/collect/collector.hpp>
#include <dma/collect/generators.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/env/cpt.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/scorer.hpp>
#include <dma/reward/balanced.hpp>

#include "../../unit/env_cpt_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace {

using dma::Feedback;
using dma::Mixture;
using dma::Token;
using dma::backend::Cpu;
using dma::backend::Cuda;
namespace model = dma::model;

static_assert(dma::Environment<dma::env::Cpt<Cuda>>);
static_assert(dma::ScoringModel<model::Scorer<Cuda>>);

double max_abs(const float* a, const float* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}
double max_abs(const float* a, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i])));
  return m;
}

model::ModelConfig small_model() {
  model::ModelConfig c;
  c.vocab = 259;
  c.d_model = 48;
  c.layers = 2;
  c.heads = 3;  // head size 16: the flash kernel
  c.context = 37;
  return c;
}

std::vector<Token> tokens(std::size_t n, std::uint64_t seed, std::size_t vocab) {
  dma::Rng r(seed);
  std::vector<Token> t(n);
  for (auto& x : t) x = Token(r.below(std::uint32_t(vocab)));
  return t;
}

// The model's tolerance of docs/CUDA.md: loss to 1e-5 relative, tensors to 1e-3 of their largest entry.
void check_losses(float cpu, float gpu) { CHECK(std::abs(cpu - gpu) <= 1e-5 * std::abs(cpu) + 1e-6); }

const std::shared_ptr<const dma::env::CptWorld<Cpu>>& cpu_world() {
  static const auto w = cpt_test::world();
  return w;
}
// The same configuration and data: the base model comes from the cache the CPU world wrote, so
// both backends start CPT from the same parameters.
const std::shared_ptr<const dma::env::CptWorld<Cuda>>& gpu_world() {
  static const auto w = [] {
    const auto data = cpt_test::corpus();
    return dma::env::CptWorld<Cuda>::create(cpt_test::config(), data, data, false);
  }();
  return w;
}

const std::vector<Mixture> kSchedule{{0.4, 0.4, 0.2}, {0.2, 0.2, 0.6}, {0.0, 0.5, 0.5}, {0.1, 0.1, 0.8}};

// Per-domain bits/byte within 2e-4 per stage trained (the 10-step trajectory tolerance of
// docs/CUDA.md is 2e-4 nats per step; a stage here is 4 steps), probe scores within 1e-3 relative.
void check_close(const Feedback& cpu, const Feedback& gpu, std::size_t stages) {
  REQUIRE(cpu.loss.size() == gpu.loss.size());
  REQUIRE(cpu.score.size() == gpu.score.size());
  for (std::size_t d = 0; d < cpu.loss.size(); ++d) CHECK(gpu.loss[d] == Approx(cpu.loss[d]).margin(2e-4 * double(stages + 1)));
  for (std::size_t i = 0; i < cpu.score.size(); ++i) CHECK(gpu.score[i] == Approx(cpu.score[i]).epsilon(1e-3));
  CHECK(gpu.score_name == cpu.score_name);
  CHECK(gpu.tokens == cpu.tokens);
  CHECK(gpu.flops == cpu.flops);  // same FLOP convention on both backends
  CHECK(gpu.seconds == cpu.seconds);
}

}  // namespace

TEST_CASE("cuda host: TrainState<Cuda> starts from the CPU's weights and saves in the CPU's format", "[cuda]") {
  const auto cfg = small_model();
  const auto cpu = model::TrainState<Cpu>::create(cfg, 11);
  const auto gpu = model::TrainState<Cuda>::create(cfg, 11);
  REQUIRE(gpu.num_params() == cpu.num_params());
  const std::vector<float> p = gpu.params.to_host();
  CHECK(std::equal(p.begin(), p.end(), cpu.params.data()));
  CHECK(gpu.serialize() == cpu.serialize());  // byte-identical checkpoints
  const auto back = model::TrainState<Cpu>::deserialize(gpu.serialize(), "gpu state");
  CHECK(std::equal(back.params.data(), back.params.data() + back.num_params(), cpu.params.data()));
  const auto up = model::TrainState<Cuda>::deserialize(cpu.serialize(), "cpu state");
  CHECK(up.params.to_host() == p);
  const auto f = gpu.fork();
  CHECK(f.params.to_host() == p);
  CHECK(f.params.data() != gpu.params.data());
}

TEST_CASE("cuda host: Llama<Cuda> forward, logits and a 10-step trajectory match Llama<Cpu>", "[cuda]") {
  const auto cfg = small_model();
  const std::size_t Bn = 3, T = 37;
  auto cs = model::TrainState<Cpu>::create(cfg, 5);
  auto gs = model::TrainState<Cuda>::create(cfg, 5);
  model::Llama<Cpu> cn(cfg, Bn);
  model::Llama<Cuda> gn(cfg, Bn);
  const auto in = tokens(Bn * T, 1, cfg.vocab), tg = tokens(Bn * T, 2, cfg.vocab);
  check_losses(cn.forward(cs.params.data(), in.data(), tg.data(), Bn, T),
               gn.forward(gs.params.data(), in.data(), tg.data(), Bn, T));
  CHECK(max_abs(cn.token_losses(), gn.token_losses(), Bn * T) <= 1e-4);
  const std::size_t nl = Bn * T * cfg.vocab;
  CHECK(max_abs(cn.logits(), gn.logits(), nl) <= 1e-3 * max_abs(cn.logits(), nl));
  // Without targets (the decoding path): logits only, for a shorter sequence.
  cn.forward(cs.params.data(), in.data(), nullptr, 1, 5);
  gn.forward(gs.params.data(), in.data(), nullptr, 1, 5);
  CHECK(max_abs(cn.logits(), gn.logits(), 5 * cfg.vocab) <= 1e-3 * max_abs(cn.logits(), 5 * cfg.vocab));

  const auto sched = model::LrSchedule::warmup_cosine(3e-3f, 2, 10, 0.1);
  const model::AdamWConfig adam;
  for (int step = 0; step < 10; ++step) {
    const auto a = tokens(Bn * (T + 1), 100 + step, 256);
    std::vector<Token> x(Bn * T), y(Bn * T);
    for (std::size_t b = 0; b < Bn; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        x[b * T + t] = a[b * (T + 1) + t];
        y[b * T + t] = a[b * (T + 1) + t + 1];
      }
    const model::MicroBatch mb{x.data(), y.data(), Bn, T};
    const auto sc = model::train_step(cn, cs, sched, adam, std::span(&mb, 1));
    const auto sg = model::train_step(gn, gs, sched, adam, std::span(&mb, 1));
    CHECK_FALSE(sg.skipped);
    CHECK(std::abs(sc.loss - sg.loss) <= 2e-4);
    CHECK(sg.grad_norm == Approx(sc.grad_norm).epsilon(1e-3));
    CHECK(sg.lr == sc.lr);
  }
  CHECK(gs.step == cs.step);
  const auto p = gs.params.to_host();
  CHECK(max_abs(p.data(), cs.params.data(), p.size()) <= 1e-3 * max_abs(cs.params.data(), p.size()));
}

TEST_CASE("cuda host: a non-finite loss makes no update, as on the CPU", "[cuda]") {
  const auto cfg = small_model();
  auto gs = model::TrainState<Cuda>::create(cfg, 5);
  auto bad = gs.params.to_host();
  bad[0] = std::numeric_limits<float>::quiet_NaN();  // the first embedding row
  gs.params = model::Memory<Cuda>::from_host(bad.data(), bad.size());
  model::Llama<Cuda> gn(cfg, 1);
  std::vector<Token> x(8, 0), y(8, 1);  // token 0 reads the NaN row
  const model::MicroBatch mb{x.data(), y.data(), 1, 8};
  const auto st = model::train_step(gn, gs, model::LrSchedule::constant(1e-3f), model::AdamWConfig{}, std::span(&mb, 1));
  CHECK(st.skipped);
  CHECK(gs.step == 0);
  const auto after = gs.params.to_host();
  CHECK(std::equal(after.begin() + 1, after.end(), bad.begin() + 1));
  CHECK(gs.m.to_host() == std::vector<float>(bad.size(), 0.0f));
}

TEST_CASE("cuda host: env::Cpt<Cuda> trains and evaluates stages like env::Cpt<Cpu>", "[cuda][env]") {
  dma::env::Cpt<Cpu> c(cpu_world());
  dma::env::Cpt<Cuda> g(gpu_world());
  CHECK(g.world().base().from_cache);  // the CPU world's base model
  check_close(c.reset(3), g.reset(3), 0);
  for (std::size_t t = 0; t < kSchedule.size(); ++t) check_close(c.step(kSchedule[t]), g.step(kSchedule[t]), t + 1);
  CHECK(g.skipped_steps() == 0);
  check_close(c.final_eval(), g.final_eval(), kSchedule.size());
  // Invalid input is refused before any device work, with the CPU's message.
  CHECK_THROWS_WITH(g.step(kSchedule[0]), Catch::Contains("beyond the run's 4 stages"));
}

TEST_CASE("cuda host: env::Cpt<Cuda> fork and save/load continue the same run", "[cuda][env]") {
  dma::env::Cpt<Cuda> a(gpu_world());
  a.reset(5);
  a.step(kSchedule[0]);
  a.step(kSchedule[1]);
  auto b = a.fork();
  const auto path = cpt_test::cache_dir() / "cuda_run.dmaenv";
  a.save(path);
  dma::env::Cpt<Cuda> l(gpu_world());
  l.load(path);
  CHECK(l.stage() == 2);
  const Feedback fa = a.step(kSchedule[2]), fb = b.step(kSchedule[2]), fl = l.step(kSchedule[2]);
  for (std::size_t d = 0; d < fa.loss.size(); ++d) {
    CHECK(fb.loss[d] == Approx(fa.loss[d]).margin(1e-6));
    CHECK(fl.loss[d] == Approx(fa.loss[d]).margin(1e-6));
  }
  // A run saved on the GPU continues on the CPU (same file format, same world fingerprint rules).
  dma::env::Cpt<Cpu> onto_cpu(cpu_world());
  CHECK_NOTHROW(onto_cpu.load(path));
  CHECK(onto_cpu.stage() == 2);
}

TEST_CASE("cuda host: the scorer and a collection run on backend::Cuda", "[cuda][env]") {
  dma::env::Cpt<Cpu> c(cpu_world());
  dma::env::Cpt<Cuda> g(gpu_world());
  // A suite with a gold (log-prob) task and an exact-match task (greedy decoding reads logits()).
  dma::eval::Suite suite("parity");
  dma::eval::Task gold{"gold", dma::Field::Target, dma::eval::TaskKind::Gold, {}, {}, {}, {}};
  gold.gold = {{"g1", "Question: Tom has 3 apples", " and buys 4 more."}, {"g2", "", "the river"}};
  dma::eval::Task exact{"exact", dma::Field::Target, dma::eval::TaskKind::Exact, {}, {}, {}, {}};
  exact.exact = {{"e1", "Question: Tom has 2 apples and buys 3 more. How many apples does he have?\nAnswer:", "5",
                  dma::data::AnswerKind::Number, 12}};
  suite.add(std::move(gold));
  suite.add(std::move(exact));
  const auto rc = c.evaluate_suite(suite), rg = g.evaluate_suite(suite);
  REQUIRE(rg.scores.size() == rc.scores.size());
  REQUIRE(rc.scores.size() == 2);
  CHECK(rg.scores[0].value == Approx(rc.scores[0].value).epsilon(1e-4));
  CHECK(rg.scores[1].value == rc.scores[1].value);  // greedy answers agree (a near tie could flip one)
  dma::collect::CollectOptions o;
  o.per_instance = 2;
  o.prefix_stages = 2;
  o.branches = 2;
  dma::collect::Collector<dma::env::Cpt<Cpu>, dma::reward::Balanced> cc(
      [](std::uint64_t s) { return dma::env::Cpt<Cpu>(cpu_world(), s); }, {}, o);
  dma::collect::Collector<dma::env::Cpt<Cuda>, dma::reward::Balanced> gc(
      [](std::uint64_t s) { return dma::env::Cpt<Cuda>(gpu_world(), s); }, {}, o);
  const auto tc = cc.run(dma::collect::Mixed{}, {1});
  const auto tg = gc.run(dma::collect::Mixed{}, {1});
  REQUIRE(tg.size() == tc.size());
  for (std::size_t i = 0; i < tc.size(); ++i) {
    CHECK(tg[i].generator == tc[i].generator);  // same schedules
    CHECK(tg[i].total_return() == Approx(tc[i].total_return()).margin(2e-3));
  }
}
