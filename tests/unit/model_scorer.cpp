// The proxy as a dma::ScoringModel: summed log-probs equal the log-softmax read off the logits,
// long contexts are truncated from the left, batching does not change scores, and greedy
// decoding continues a memorised pattern.
#include <catch2/catch.hpp>

#include <dma/model/optim.hpp>
#include <dma/model/scorer.hpp>
#include <dma/model/state.hpp>

#include <cmath>
#include <string>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_model_scorer {

using namespace dma::model;

namespace {
ModelConfig cfg() {
  ModelConfig c;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 2;
  c.context = 16;
  return c;
}
}  // namespace

TEST_CASE("scorer: log-probs equal the log-softmax of the logits", "[model][cpu]") {
  Llama<> model(cfg(), 4, 1);
  const auto s = TrainState<>::create(cfg(), 3);
  Scorer<> scorer(model, s);
  const dma::ScoreRequest req{"hello", " wor"};
  const double got = scorer.score(std::span(&req, 1))[0];
  const std::string all = "hello wor";
  std::vector<dma::Token> in(all.begin(), all.end() - 1);
  model.forward(s.params.data(), in.data(), nullptr, 1, in.size());
  double want = 0;
  for (std::size_t p = 5; p < all.size(); ++p) {
    const float* row = model.logits() + (p - 1) * 259;
    double z = 0;
    for (int v = 0; v < 259; ++v) z += std::exp(double(row[v]));
    want += double(row[static_cast<unsigned char>(all[p])]) - std::log(z);
  }
  CHECK(got == Approx(want).epsilon(1e-5));
  CHECK(got < 0);
}

TEST_CASE("scorer: context is truncated from the left; batching does not change scores",
          "[model][cpu]") {
  Llama<> model(cfg(), 3, 1);
  const auto s = TrainState<>::create(cfg(), 4);
  Scorer<> scorer(model, s);
  const std::string ctx = "0123456789abcdefghijklmnopqrstuvwxyz";
  // L = 36 + 5 > T + 1 = 17: one window of T inputs ending at the last byte keeps 16 - 4 = 12
  // bytes of context.
  const std::string tail = ctx.substr(ctx.size() - 12), zs(50, 'z');  // requests hold views
  const dma::ScoreRequest reqs[] = {{ctx, "ABCDE"}, {tail, "ABCDE"}, {"", "x"}, {"q", zs}, {"ab", "c"}};
  const auto together = scorer.score(reqs);
  CHECK(together[0] == Approx(together[1]).epsilon(1e-6));
  for (std::size_t i = 0; i < 5; ++i) {
    const double alone = scorer.score(std::span(&reqs[i], 1))[0];
    CHECK(alone == Approx(together[i]).epsilon(1e-5));
    CHECK(std::isfinite(alone));
  }
  CHECK(together[3] < together[4]);  // 50 scored bytes vs 1 (untrained: ~log(1/259) each)
}

TEST_CASE("scorer: greedy decoding continues a memorised pattern", "[model][cpu]") {
  Llama<> model(cfg(), 8, 1);
  auto s = TrainState<>::create(cfg(), 5);
  const std::string pattern = "abcdefgh";
  std::vector<dma::Token> in(8 * 16), tg(8 * 16);
  const auto sched = LrSchedule::warmup_cosine(1e-2f, 5, 120);
  for (int step = 0; step < 120; ++step) {
    for (std::size_t b = 0; b < 8; ++b) {
      const std::size_t off = s.rng.below(8);
      for (std::size_t t = 0; t < 16; ++t) {
        in[b * 16 + t] = dma::Token(pattern[(off + t) % 8]);
        tg[b * 16 + t] = dma::Token(pattern[(off + t + 1) % 8]);
      }
    }
    const MicroBatch mb{in.data(), tg.data(), 8, 16};
    train_step(model, s, sched, AdamWConfig{}, std::span(&mb, 1));
  }
  Scorer<> scorer(model, s);
  CHECK(scorer.generate_greedy("cdef", 12) == "ghabcdefghab");
  const dma::ScoreRequest good{"abcd", "efgh"}, bad{"abcd", "hgfe"};
  CHECK(scorer.score(std::span(&good, 1))[0] > scorer.score(std::span(&bad, 1))[0] + 5.0);
}

}  // namespace dma_test_model_scorer
