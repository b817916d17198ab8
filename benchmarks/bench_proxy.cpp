// benchmarks/bench_proxy.cpp: training throughput of the LLM proxy on CPU at a config given by
// flags; prints one JSON object (tokens_per_s, gflops = model FLOP/s, params, and the Eigen SGEMM
// peak measured in the same process for reference). scripts/bench_proxy.sh runs it interleaved
// with the PyTorch peer (scripts/bench_proxy_torch.py) and prints the ratios.
//   bench_proxy --vocab 256 --d-model 128 --layers 4 --heads 4 --ctx 128 --batch 16 --threads 1 --steps 20
#include <dma/core/config.hpp>
#include <dma/core/rng.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/state.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Single-thread Eigen SGEMM rate (best of several) at a square-ish shape of this model's size.
double sgemm_peak_gflops(std::size_t n) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto k = Eigen::Index(n);
  M a = M::Random(k, k), b = M::Random(k, k), c = M::Zero(k, k);
  double best = 0;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = now();
    c.noalias() = a * b.transpose();
    const double dt = now() - t0;
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) / dt / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const dma::Config cfg = dma::Config::from_args(argc, argv);
    dma::model::ModelConfig mc;
    mc.vocab = cfg.get<std::size_t>("vocab", 256);
    mc.d_model = cfg.get<std::size_t>("d-model", 128);
    mc.layers = cfg.get<std::size_t>("layers", 4);
    mc.heads = cfg.get<std::size_t>("heads", 4);
    mc.context = cfg.get<std::size_t>("ctx", 128);
    mc.tied_embeddings = cfg.get<bool>("tied", false);
    mc.validate("command line");
    const auto B = cfg.get<std::size_t>("batch", 16);
    const auto threads = cfg.get<std::size_t>("threads", 1);
    const auto steps = cfg.get<std::size_t>("steps", 20);
    const auto warmup = cfg.get<std::size_t>("warmup", 3);
    const std::size_t T = mc.context;

    dma::model::Llama<> model(mc, B, threads);
    auto state = dma::model::TrainState<>::create(mc, 1);
    std::vector<dma::Token> data(B * (T + 1) * 8);
    dma::Rng rng(7);
    for (auto& t : data) t = dma::Token(rng.below(std::uint32_t(mc.vocab)));
    std::vector<dma::Token> in(B * T), tg(B * T);
    const auto sched = dma::model::LrSchedule::constant(1e-3f);
    const dma::model::AdamWConfig adam;
    float loss = 0;
    auto step = [&](std::size_t s) {
      const dma::Token* src = data.data() + (s % 8) * B * (T + 1);
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t) {
          in[b * T + t] = src[b * (T + 1) + t];
          tg[b * T + t] = src[b * (T + 1) + t + 1];
        }
      const dma::model::MicroBatch mb{in.data(), tg.data(), B, T};
      loss = dma::model::train_step(model, state, sched, adam, std::span(&mb, 1)).loss;
    };
    for (std::size_t s = 0; s < warmup; ++s) step(s);
    const double t0 = now();
    for (std::size_t s = 0; s < steps; ++s) step(s);
    const double dt = now() - t0;
    const double tokens = double(steps * B * T);
    const double gflops = model.train_flops(B, T) * double(steps) / dt / 1e9;
    const double peak = cfg.get<bool>("no-peak", false) ? 0.0 : sgemm_peak_gflops(std::max<std::size_t>(512, 2 * mc.d_model));
    dma::Json out{{"impl", "dma"},
                  {"vocab", mc.vocab},
                  {"d_model", mc.d_model},
                  {"layers", mc.layers},
                  {"heads", mc.heads},
                  {"ctx", T},
                  {"batch", B},
                  {"threads", model.threads()},
                  {"steps", steps},
                  {"params", model.num_params()},
                  {"seconds", dt},
                  {"step_ms", dt / double(steps) * 1e3},
                  {"tokens_per_s", tokens / dt},
                  {"gflops", gflops},
                  {"sgemm_peak_gflops_1thread", peak},
                  {"peak_fraction", peak > 0 ? gflops / (peak * double(model.threads())) : 0.0},
                  {"final_loss", loss}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const dma::Error& e) {
    std::fprintf(stderr, "bench_proxy: %s\n", e.what());
    return 2;
  }
}
