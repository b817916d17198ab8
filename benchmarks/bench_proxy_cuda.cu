// benchmarks/bench_proxy_cuda.cu: training throughput of the LLM proxy on one GPU
// (model::LlamaCuda + cuda_train_step: forward, backward, clipping, AdamW, including the host
// syncs a real step has) at ~0.8M, ~10M and ~50M parameters. Prints one JSON object per
// measurement: tokens/s, model FLOP/s (Llama::train_flops convention, PaLM appendix B) and MFU
// against the dense TF32 peak (H200: 494 TFLOP/s; --peak-tflops to change), also against dense
// BF16 (989) for reference. TF32 GEMMs unless --fp32; one extra FP32 run of the largest model is
// the in-process peer (ratio tf32 / fp32). scripts/device_check.sh runs it with a PyTorch peer.
//   bench_proxy_cuda [--only 0.8M|10M|50M|50M-ctx128] [--fp32] [--peak-tflops 494] [--steps-scale 1]
#include <dma/backend/cuda/llama.cuh>
#include <dma/core/rng.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace dma;

struct Preset {
  const char* name;
  std::size_t C, L, NH, T, B, steps;
};

// d_model / layers / heads / context / batch / timed steps. Head size 32 or 64.
const Preset kPresets[] = {
    {"0.8M", 128, 4, 4, 128, 64, 60},
    {"10M", 384, 6, 6, 256, 64, 30},
    {"50M", 640, 10, 10, 256, 128, 12},
    {"50M-ctx128", 640, 10, 10, 128, 256, 12},  // the proxy's default context (ModelConfig)
};

// The model's initialisation scheme (model::init_params: N(0, 0.02), residual projections
// N(0, 0.02/sqrt(2L)), norm gains 1), drawn here because model/llama.hpp cannot enter a .cu file.
std::vector<float> init_params(const model::ModelConfig& cfg, std::uint64_t seed) {
  const model::ParamLayout lay(cfg);
  std::vector<float> p(lay.total);
  const Rng root(seed);
  const double resid = 0.02 / std::sqrt(2.0 * double(cfg.layers));
  for (const model::ParamTensor* t : lay.tensors()) {
    Rng r = root.split(t->name);
    const double sd = (t == &lay.wo || t == &lay.w_down) ? resid : 0.02;
    for (std::size_t i = 0; i < t->size(); ++i) p[t->offset + i] = t->decay ? float(r.normal(0.0, sd)) : 1.0f;
  }
  return p;
}

void run(const Preset& pr, bool tf32, double peak_tflops, double steps_scale, const char* device) {
  backend::cuda::context().set_tf32(tf32);
  model::ModelConfig cfg;
  cfg.vocab = 259;
  cfg.d_model = pr.C;
  cfg.layers = pr.L;
  cfg.heads = pr.NH;
  cfg.context = pr.T;
  cfg.validate("bench preset");
  const std::size_t B = pr.B, T = pr.T, N = B * T;
  const std::size_t steps = std::max<std::size_t>(3, std::size_t(double(pr.steps) * steps_scale));
  model::LlamaCuda m(cfg, B);
  auto state = model::CudaTrainState::from_host(cfg, init_params(cfg, 1).data());
  Rng rng(2);
  const std::size_t batches = 4;
  std::vector<Token> data(batches * B * (T + 1));
  for (auto& t : data) t = Token(rng.below(256));
  std::vector<Token> in(batches * N), tg(batches * N);
  for (std::size_t k = 0; k < batches; ++k)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        in[k * N + b * T + t] = data[(k * B + b) * (T + 1) + t];
        tg[k * N + b * T + t] = data[(k * B + b) * (T + 1) + t + 1];
      }
  const auto sched = model::LrSchedule::constant(1e-3f);
  const model::CudaAdamW adam;
  auto step = [&](std::size_t s) {
    const model::CudaMicroBatch mb{in.data() + (s % batches) * N, tg.data() + (s % batches) * N, B, T};
    return model::cuda_train_step(m, state, sched, adam, std::span<const model::CudaMicroBatch>(&mb, 1));
  };
  float first = 0, last = 0;
  for (std::size_t s = 0; s < 3; ++s) first = step(s).loss;  // warm-up: cuBLAS heuristics, workspace
  DMA_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  DMA_CUDA_CHECK(cudaEventCreate(&e0));
  DMA_CUDA_CHECK(cudaEventCreate(&e1));
  DMA_CUDA_CHECK(cudaEventRecord(e0));
  for (std::size_t s = 0; s < steps; ++s) last = step(s).loss;
  DMA_CUDA_CHECK(cudaEventRecord(e1));
  DMA_CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  DMA_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  const double sec = double(ms) / 1e3, flops = m.train_flops(B, T) * double(steps);
  const double tflops = flops / sec / 1e12;
  std::printf(
      "{\"bench\":\"proxy_cuda\",\"device\":\"%s\",\"model\":\"%s\",\"params\":%zu,\"d_model\":%zu,"
      "\"layers\":%zu,\"heads\":%zu,\"mlp_hidden\":%zu,\"vocab\":%zu,\"ctx\":%zu,\"batch\":%zu,"
      "\"tokens_per_step\":%zu,\"steps\":%zu,\"math\":\"%s\",\"step_ms\":%.3f,\"tokens_per_s\":%.1f,"
      "\"model_tflops\":%.2f,\"peak_tflops\":%.1f,\"peak_basis\":\"dense TF32\",\"mfu\":%.4f,"
      "\"mfu_vs_bf16_989\":%.4f,\"loss_warmup\":%.4f,\"loss_last\":%.4f}\n",
      device, pr.name, m.num_params(), cfg.d_model, cfg.layers, cfg.heads, cfg.hidden(), cfg.vocab,
      T, B, N, steps, tf32 ? "tf32" : "fp32", double(ms) / double(steps), double(N * steps) / sec,
      tflops, peak_tflops, tflops / peak_tflops, tflops / 989.0, first, last);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string only;
    bool fp32 = false;
    double peak = 494.0, scale = 1.0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const char* what) -> std::string {
        if (i + 1 >= argc) fail("bench_proxy_cuda: ", what, " needs a value");
        return argv[++i];
      };
      if (a == "--only") only = value("--only");
      else if (a == "--fp32") fp32 = true;
      else if (a == "--peak-tflops") peak = std::stod(value("--peak-tflops"));
      else if (a == "--steps-scale") scale = std::stod(value("--steps-scale"));
      else fail("bench_proxy_cuda: unknown argument '", a, "' (expected --only, --fp32, --peak-tflops, --steps-scale)");
    }
    if (!backend::cuda::device_available()) {
      std::fprintf(stderr, "bench_proxy_cuda: no CUDA device\n");
      return 77;
    }
    cudaDeviceProp prop{};
    DMA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    bool any = false;
    for (const Preset& p : kPresets)
      if (only.empty() || only == p.name) {
        run(p, !fp32, peak, scale, prop.name);
        any = true;
      }
    if (!any) fail("bench_proxy_cuda: --only '", only, "' matches no preset (0.8M, 10M, 50M, 50M-ctx128)");
    // The in-process peer: the largest model with strict FP32 GEMMs.
    if (!fp32 && (only.empty() || only == "50M")) run(kPresets[2], false, peak, std::min(scale, 0.5), prop.name);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_proxy_cuda: %s\n", e.what());
    return 1;
  }
}
