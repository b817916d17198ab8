// The LLM proxy against PyTorch (llm.c style): scripts/torch_reference.py builds the same
// architecture in float64 from the same float32 weights and writes tests/data/proxy_ref_*.bin.
// Here the C++ model (float32) must reproduce its logits, loss, every parameter gradient and the
// losses of 10 AdamW steps (warmup + cosine LR, clipping) within the tolerances stated below.
#include <catch2/catch.hpp>

#include <dma/core/file_io.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/state.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace dma::model;

struct Fixture {
  ModelConfig cfg;
  std::size_t B = 0, T = 0, steps = 0;
  float peak_lr = 0, min_ratio = 0;
  std::size_t warmup = 0;
  AdamWConfig adam;
  std::vector<float> params, logits, grads, losses;
  std::vector<dma::Token> tokens;  // [steps, B, T+1]
  float loss = 0;
};

Fixture load_fixture(const std::string& name) {
  const std::string path = std::string(DMA_TEST_DATA_DIR) + "/" + name;
  const std::string bytes = dma::io::read_file(path);
  dma::io::Reader r(dma::io::unframe(bytes, "DMAPXREF", 1, path), path);
  Fixture f;
  auto u = [&](const char* what) { return std::size_t(r.get<std::uint32_t>(what)); };
  f.cfg.vocab = u("V");
  f.cfg.d_model = u("C");
  f.cfg.layers = u("L");
  f.cfg.heads = u("NH");
  f.T = u("T");
  f.cfg.context = f.T;
  f.B = u("B");
  f.cfg.mlp_hidden = u("H");
  f.cfg.tied_embeddings = u("tied") != 0;
  f.steps = u("steps");
  f.cfg.norm_eps = r.get<float>("eps");
  f.cfg.rope_theta = r.get<float>("theta");
  f.peak_lr = r.get<float>("peak_lr");
  f.warmup = u("warmup");
  f.min_ratio = r.get<float>("min_ratio");
  f.adam.beta1 = r.get<float>("beta1");
  f.adam.beta2 = r.get<float>("beta2");
  f.adam.eps = r.get<float>("adam_eps");
  f.adam.weight_decay = r.get<float>("weight_decay");
  f.adam.grad_clip = r.get<float>("clip");
  const auto n = r.get_count("nparams", 1u << 24);
  f.params.resize(n);
  r.get_array(f.params.data(), n, "params");
  f.tokens.resize(f.steps * f.B * (f.T + 1));
  r.get_array(f.tokens.data(), f.tokens.size(), "tokens");
  f.logits.resize(f.B * f.T * f.cfg.vocab);
  r.get_array(f.logits.data(), f.logits.size(), "logits");
  f.loss = r.get<float>("loss");
  f.grads.resize(n);
  r.get_array(f.grads.data(), n, "grads");
  f.losses.resize(f.steps);
  r.get_array(f.losses.data(), f.steps, "losses");
  REQUIRE(r.remaining() == 0);
  return f;
}

// inputs / targets of batch s as [B, T] arrays
void split_batch(const Fixture& f, std::size_t s, std::vector<dma::Token>& in, std::vector<dma::Token>& tg) {
  in.resize(f.B * f.T);
  tg.resize(f.B * f.T);
  for (std::size_t b = 0; b < f.B; ++b)
    for (std::size_t t = 0; t < f.T; ++t) {
      in[b * f.T + t] = f.tokens[(s * f.B + b) * (f.T + 1) + t];
      tg[b * f.T + t] = f.tokens[(s * f.B + b) * (f.T + 1) + t + 1];
    }
}

void check_against(const std::string& name, std::size_t threads) {
  const Fixture f = load_fixture(name);
  Llama<> model(f.cfg, f.B, threads);
  REQUIRE(model.num_params() == f.params.size());
  std::vector<dma::Token> in, tg;
  split_batch(f, 0, in, tg);

  // Tolerances: the reference is float64, we are float32.
  const float loss = model.forward(f.params.data(), in.data(), tg.data(), f.B, f.T);
  CHECK(std::abs(loss - f.loss) <= 1e-5f);
  float max_logit_err = 0;
  for (std::size_t i = 0; i < f.logits.size(); ++i)
    max_logit_err = std::max(max_logit_err, std::abs(model.logits()[i] - f.logits[i]));
  INFO("max |logit error| = " << max_logit_err);
  CHECK(max_logit_err <= 1e-5f);

  model.zero_grads();
  model.backward();
  // Per tensor: max |g - g_ref| <= 1e-4 * max |g_ref| + 1e-7.
  for (const ParamTensor* t : model.layout().tensors()) {
    float err = 0, scale = 0;
    for (std::size_t i = t->offset; i < t->offset + t->size(); ++i) {
      err = std::max(err, std::abs(model.grads()[i] - f.grads[i]));
      scale = std::max(scale, std::abs(f.grads[i]));
    }
    INFO("tensor " << t->name << ": max |grad error| = " << err << ", max |grad| = " << scale);
    CHECK(scale > 0);
    CHECK(err <= 1e-4f * scale + 1e-7f);
  }

  // 10 AdamW steps: every loss within 1e-4 nats of PyTorch's.
  TrainState<> s;
  s.config = f.cfg;
  s.params = dma::Buffer<float>(f.params.size());
  std::copy(f.params.begin(), f.params.end(), s.params.begin());
  s.m = dma::Buffer<float>(f.params.size());
  s.v = dma::Buffer<float>(f.params.size());
  const auto sched = LrSchedule::warmup_cosine(f.peak_lr, f.warmup, f.steps, f.min_ratio);
  for (std::size_t step = 0; step < f.steps; ++step) {
    split_batch(f, step, in, tg);
    const MicroBatch mb{in.data(), tg.data(), f.B, f.T};
    const StepStats st = train_step(model, s, sched, f.adam, std::span(&mb, 1));
    INFO("step " << step << ": ours " << st.loss << ", torch " << f.losses[step]);
    CHECK(std::abs(st.loss - f.losses[step]) <= 1e-4f);
  }
}

}  // namespace

TEST_CASE("proxy parity: logits, loss, gradients and 10 AdamW steps match PyTorch (untied)",
          "[model][reference][cpu]") {
  check_against("proxy_ref_untied.bin", 1);
}

TEST_CASE("proxy parity: tied embeddings match PyTorch", "[model][reference][cpu]") {
  check_against("proxy_ref_tied.bin", 1);
}

TEST_CASE("proxy parity: the batch split across 2 threads matches PyTorch too",
          "[model][reference][cpu]") {
  check_against("proxy_ref_untied.bin", 2);
}

TEST_CASE("proxy parity: a corrupted fixture is rejected by its checksum", "[model][reference][cpu]") {
  const std::string path = std::string(DMA_TEST_DATA_DIR) + "/proxy_ref_tied.bin";
  std::string bytes = dma::io::read_file(path);
  bytes[100] ^= 0x01;
  CHECK_THROWS_WITH(dma::io::unframe(bytes, "DMAPXREF", 1, path), Catch::Contains("checksum"));
}
