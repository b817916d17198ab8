// The LLM proxy's training step: it allocates nothing, it learns a tiny synthetic text, the batch
// split across threads and gradient accumulation agree with the plain step, and the LR schedules
// have the documented shape. (Parity with PyTorch is in tests/reference/model_torch_parity.cpp.)
//
// Allocation check: this program replaces the global operator new (counts calls while armed) and
// builds Eigen with EIGEN_RUNTIME_NO_MALLOC, with Eigen's assertion redirected to a counter, so
// that a heap allocation inside Eigen during the step is counted too.
#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_news{0};
std::atomic<long> g_eigen_asserts{0};
}  // namespace

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x)                                     \
  do {                                                      \
    if (!(x)) g_eigen_asserts.fetch_add(1);                 \
  } while (0)

// GCC flags free() inside a replacement operator delete as mismatched; that pairing is the point.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed)) g_news.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

#include <catch2/catch.hpp>

#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/schedule.hpp>
#include <dma/model/state.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace dma::model;

namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.vocab = 259;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 4;
  c.context = 32;
  return c;
}

// Random windows of `text` as [B, T] inputs and targets.
void sample(const std::vector<dma::Token>& text, std::size_t B, std::size_t T, dma::Rng& rng,
            std::vector<dma::Token>& in, std::vector<dma::Token>& tg) {
  in.resize(B * T);
  tg.resize(B * T);
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t off = rng.below(std::uint32_t(text.size() - T - 1));
    for (std::size_t t = 0; t < T; ++t) {
      in[b * T + t] = text[off + t];
      tg[b * T + t] = text[off + t + 1];
    }
  }
}

std::vector<dma::Token> synthetic_text() {
  std::string s;
  for (int i = 0; i < 40; ++i) s += "the cat sat on the mat. the dog ate the log. ";
  return std::vector<dma::Token>(s.begin(), s.end());
}

}  // namespace

TEST_CASE("proxy: a training step allocates nothing (operator new and Eigen)", "[model][cpu]") {
  for (std::size_t threads : {1u, 2u}) {
    const ModelConfig cfg = small_config();
    Llama<> model(cfg, 4, threads);
    auto state = TrainState<>::create(cfg, 3);
    const auto text = synthetic_text();
    dma::Rng rng(1);
    std::vector<dma::Token> in, tg;
    sample(text, 4, cfg.context, rng, in, tg);
    const MicroBatch mb[2] = {{in.data(), tg.data(), 4, cfg.context}, {in.data(), tg.data(), 2, 16}};
    const auto sched = LrSchedule::warmup_cosine(1e-3f, 2, 10);
    train_step(model, state, sched, AdamWConfig{}, std::span(mb, 2));  // warm (first-touch)
    g_news = 0;
    g_eigen_asserts = 0;
    Eigen::internal::set_is_malloc_allowed(false);
    g_armed = true;
    for (int i = 0; i < 3; ++i) train_step(model, state, sched, AdamWConfig{}, std::span(mb, 2));
    g_armed = false;
    Eigen::internal::set_is_malloc_allowed(true);
    INFO("threads " << threads);
    CHECK(g_news.load() == 0);
    CHECK(g_eigen_asserts.load() == 0);
  }
}

TEST_CASE("proxy: loss drops on a tiny synthetic text", "[model][cpu]") {
  const ModelConfig cfg = small_config();
  Llama<> model(cfg, 8, 1);
  auto state = TrainState<>::create(cfg, 11);
  const auto text = synthetic_text();
  std::vector<dma::Token> in, tg;
  const auto sched = LrSchedule::warmup_cosine(1e-2f, 10, 150);
  float first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    sample(text, 8, cfg.context, state.rng, in, tg);
    const MicroBatch mb{in.data(), tg.data(), 8, cfg.context};
    const auto st = train_step(model, state, sched, AdamWConfig{}, std::span(&mb, 1));
    if (step == 0) first = st.loss;
    last = st.loss;
  }
  INFO("first " << first << " last " << last);
  CHECK(std::abs(first - std::log(259.0f)) < 0.3f);  // starts near uniform
  CHECK(last < 0.8f);                                // the text is nearly deterministic
}

TEST_CASE("proxy: 2 threads agree with 1 thread; a fixed thread count is bit-reproducible",
          "[model][cpu]") {
  const ModelConfig cfg = small_config();
  const auto text = synthetic_text();
  auto run = [&](std::size_t threads) {
    Llama<> model(cfg, 6, threads);
    auto state = TrainState<>::create(cfg, 5);
    std::vector<dma::Token> in, tg;
    std::vector<float> losses;
    const auto sched = LrSchedule::constant(3e-3f);
    for (int step = 0; step < 8; ++step) {
      sample(text, 6, cfg.context, state.rng, in, tg);
      const MicroBatch mb{in.data(), tg.data(), 6, cfg.context};
      losses.push_back(train_step(model, state, sched, AdamWConfig{}, std::span(&mb, 1)).loss);
    }
    return losses;
  };
  const auto a = run(1), b = run(2), c = run(2);
  CHECK(b == c);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) < 1e-4f);
}

TEST_CASE("proxy: gradient accumulation over 2 halves equals the whole batch", "[model][cpu]") {
  const ModelConfig cfg = small_config();
  Llama<> model(cfg, 8, 1);
  auto state = TrainState<>::create(cfg, 2);
  const auto text = synthetic_text();
  dma::Rng rng(9);
  std::vector<dma::Token> in, tg;
  sample(text, 8, cfg.context, rng, in, tg);
  model.zero_grads();
  const float whole = model.forward(state.params.data(), in.data(), tg.data(), 8, cfg.context);
  model.backward();
  const std::vector<float> g1(model.grads(), model.grads() + model.num_params());
  model.zero_grads();
  const std::size_t half = 4 * cfg.context;
  float acc = 0;
  for (int h = 0; h < 2; ++h) {
    acc += 0.5f * model.forward(state.params.data(), in.data() + h * half, tg.data() + h * half, 4, cfg.context);
    model.backward(0.5f);
  }
  CHECK(std::abs(acc - whole) < 1e-5f);
  float err = 0, scale = 0;
  for (std::size_t i = 0; i < g1.size(); ++i) {
    err = std::max(err, std::abs(model.grads()[i] - g1[i]));
    scale = std::max(scale, std::abs(g1[i]));
  }
  CHECK(err <= 1e-5f * scale);
}

TEST_CASE("proxy: bad token ids and shapes are rejected", "[model][cpu]") {
  const ModelConfig cfg = small_config();
  Llama<> model(cfg, 2, 1);
  auto state = TrainState<>::create(cfg, 1);
  std::vector<dma::Token> in(2 * cfg.context, 1);
  in[5] = 300;
  CHECK_THROWS_WITH(model.forward(state.params.data(), in.data(), nullptr, 2, cfg.context),
                    Catch::Contains("inputs[5]") && Catch::Contains("vocabulary"));
  CHECK_THROWS_WITH(model.forward(state.params.data(), in.data(), nullptr, 3, cfg.context),
                    Catch::Contains("max_batch"));
  ModelConfig bad = cfg;
  bad.heads = 5;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("heads"));
}

TEST_CASE("schedule: warmup + cosine, constant and CPT re-warm", "[model][cpu]") {
  const auto wc = LrSchedule::warmup_cosine(1e-3f, 10, 110, 0.1f);
  CHECK(wc.at(0) == Approx(1e-4f));
  CHECK(wc.at(9) == Approx(1e-3f));
  CHECK(wc.at(60) == Approx(0.55e-3f));  // half-way down the cosine: (peak + min) / 2
  CHECK(wc.at(110) == Approx(1e-4f));
  CHECK(wc.at(500) == Approx(1e-4f));
  CHECK(LrSchedule::constant(2e-4f).at(77) == Approx(2e-4f));
  const auto rw = LrSchedule::rewarm(1e-4f, 5e-4f, 4, 100, 0.1f);
  CHECK(rw.at(0) == Approx(2e-4f));  // linear from the starting LR, not from 0
  CHECK(rw.at(3) == Approx(5e-4f));
  CHECK(rw.at(100) == Approx(5e-5f));
  const auto back = LrSchedule::from_config(dma::Config(rw.to_json(), "t"));
  CHECK(back.at(50) == rw.at(50));
  // Warmup-stable-decay: re-warm over 4 steps, the peak until step 79, linear to 10% over 80..99.
  const auto wsd = LrSchedule::rewarm_wsd(0.0f, 5e-4f, 4, 20, 100, 0.1f);
  CHECK(wsd.at(0) == Approx(1.25e-4f));
  CHECK(wsd.at(3) == Approx(5e-4f));
  CHECK(wsd.at(50) == Approx(5e-4f));
  CHECK(wsd.at(79) == Approx(5e-4f));
  CHECK(wsd.at(80) == Approx(5e-4f - 4.5e-4f / 20));
  CHECK(wsd.at(89) == Approx(2.75e-4f));  // half-way down: (peak + min) / 2
  CHECK(wsd.at(99) == Approx(5e-5f));
  CHECK(wsd.at(400) == Approx(5e-5f));
  const auto wback = LrSchedule::from_config(dma::Config(wsd.to_json(), "t"));
  CHECK(wback.at(85) == wsd.at(85));
  CHECK_THROWS_WITH(LrSchedule::from_config(dma::Config(dma::Json{{"kind", "wsd2"}}, "s.json")),
                    Catch::Contains("s.json") && Catch::Contains("kind") && Catch::Contains("rewarm_wsd"));
}

TEST_CASE("proxy: the optimizer split over threads equals the serial AdamW step", "[model][cpu]") {
  const ModelConfig cfg = small_config();
  const std::size_t P = ParamLayout(cfg).total;
  dma::Rng r(9);
  std::vector<float> grads(P);
  for (auto& g : grads) g = float(r.normal(0.0, 0.05));
  const AdamWConfig ac{};
  for (std::size_t threads : {1, 2, 3}) {
    Llama<> model(cfg, 4, threads);
    // The slices tile the buffer in order, each boundary on a 64-byte line.
    std::size_t expect = 0;
    for (std::size_t t = 0; t < model.threads(); ++t) {
      std::size_t i0, i1;
      model.param_range(t, i0, i1);
      CHECK(i0 == expect);
      CHECK(i0 % 16 == 0);
      expect = i1;
    }
    CHECK(expect == P);
    auto serial = TrainState<>::create(cfg, 3), split = TrainState<>::create(cfg, 3);
    for (int step = 0; step < 3; ++step) {
      const float n1 = adamw_step(dma::backend::Cpu{}, model.layout(), serial, grads.data(), 1e-3f, ac);
      const float n2 = adamw_step(model, split, grads.data(), 1e-3f, ac);
      // One thread: the same sums in the same order (bit-identical); more: the norm's partial sums
      // are added per slice, so the last bits may differ.
      if (threads == 1) {
        CHECK(n1 == n2);
      } else {
        CHECK(std::abs(n1 - n2) <= 1e-6f * n1);
      }
    }
    CHECK(serial.step == split.step);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < P; ++i) {
      if (threads == 1) differ += serial.params[i] != split.params[i] || serial.m[i] != split.m[i] || serial.v[i] != split.v[i];
      else differ += std::abs(serial.params[i] - split.params[i]) > 1e-6f;
    }
    CHECK(differ == 0);
  }
}
