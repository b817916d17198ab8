// benchmarks/bench_proxy_cuda.cu: training throughput of the LLM proxy on one GPU
// (model::LlamaCuda + cuda_train_step: forward, backward, clipping, AdamW; loss and gradient
// norm stay on the device and are read once after the timed steps) at ~0.8M, ~10M and ~50M
// parameters. Prints one JSON object per measurement: tokens/s, model FLOP/s (Llama::train_flops
// convention, PaLM appendix B) and MFU against the dense TF32 peak (H200: 494 TFLOP/s;
// --peak-tflops to change), also against dense BF16 (989). TF32 GEMMs unless --fp32; fused flash
// attention unless --attention materialized. In-process peers of the 50M model: the materialised
// attention path and strict FP32; plus a phase split (forward / backward / optimizer) and the
// attention kernels alone. scripts/device_check.sh runs it with a PyTorch peer.
//   bench_proxy_cuda [--only NAME] [--fp32] [--attention flash|materialized] [--peak-tflops 494]
//                    [--steps-scale 1] [--no-peers]
#include <dma/backend/cuda/llama.cuh>
#include <dma/core/rng.hpp>

#include <algorithm>
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

// d_model / layers / heads / context / batch / timed steps. Head size 32 or 64. "50M" is
// 49,954,560 parameters: d_model 768, 7 layers, 12 heads of 64, SwiGLU hidden 2048 (LLaMA's 8/3
// ratio); "50M-640" is the earlier 50M shape (640 x 10 layers, 49,599,360), kept for comparison.
// The 50M model and its peers run first (they matter most if a time cap cuts the run short).
const Preset kPresets[] = {
    {"50M", 768, 7, 12, 256, 128, 16},
    {"50M-ctx128", 768, 7, 12, 128, 256, 16},  // the proxy's default context (ModelConfig)
    {"50M-640", 640, 10, 10, 256, 128, 12},
    {"0.8M", 128, 4, 4, 128, 64, 60},
    {"10M", 384, 6, 6, 256, 64, 30},
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

double elapsed_ms(cudaEvent_t a, cudaEvent_t b) {
  float ms = 0;
  DMA_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  return double(ms);
}

void run(const Preset& pr, bool tf32, model::CudaAttention attention, double peak_tflops, double steps_scale,
         const char* device, bool phases) {
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
  model::LlamaCuda m(cfg, B, attention);
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
  const model::AdamWConfig adam;
  auto step = [&](std::size_t s) {
    const model::MicroBatch mb{in.data() + (s % batches) * N, tg.data() + (s % batches) * N, B, T};
    return model::cuda_train_step(m, state, sched, adam, std::span<const model::MicroBatch>(&mb, 1),
                                  /*read_stats=*/false);
  };
  for (std::size_t s = 0; s < 3; ++s) step(s);  // warm-up: cuBLAS heuristics, workspace
  const float first = m.read_loss();
  DMA_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  DMA_CUDA_CHECK(cudaEventCreate(&e0));
  DMA_CUDA_CHECK(cudaEventCreate(&e1));
  DMA_CUDA_CHECK(cudaEventRecord(e0));
  for (std::size_t s = 0; s < steps; ++s) step(s);
  DMA_CUDA_CHECK(cudaEventRecord(e1));
  DMA_CUDA_CHECK(cudaEventSynchronize(e1));
  const float ms = float(elapsed_ms(e0, e1));
  const float last = m.read_loss();
  if (!std::isfinite(last)) fail("bench_proxy_cuda: ", pr.name, ": the loss is not finite (", last, ")");
  const char* att_name = m.attention() == model::CudaAttention::flash ? "flash" : "materialized";
  const double sec = double(ms) / 1e3, flops = m.train_flops(B, T) * double(steps);
  const double tflops = flops / sec / 1e12;
  std::printf(
      "{\"bench\":\"proxy_cuda\",\"device\":\"%s\",\"model\":\"%s\",\"params\":%zu,\"d_model\":%zu,"
      "\"layers\":%zu,\"heads\":%zu,\"mlp_hidden\":%zu,\"vocab\":%zu,\"ctx\":%zu,\"batch\":%zu,"
      "\"tokens_per_step\":%zu,\"steps\":%zu,\"math\":\"%s\",\"attention\":\"%s\",\"step_ms\":%.3f,\"tokens_per_s\":%.1f,"
      "\"model_tflops\":%.2f,\"peak_tflops\":%.1f,\"peak_basis\":\"dense TF32\",\"mfu\":%.4f,"
      "\"mfu_vs_bf16_989\":%.4f,\"loss_warmup\":%.4f,\"loss_last\":%.4f}\n",
      device, pr.name, m.num_params(), cfg.d_model, cfg.layers, cfg.heads, cfg.hidden(), cfg.vocab,
      T, B, N, steps, tf32 ? "tf32" : "fp32", att_name, double(ms) / double(steps), double(N * steps) / sec,
      tflops, peak_tflops, tflops / peak_tflops, tflops / 989.0, first, last);
  std::fflush(stdout);

  if (phases) {
    // Where a step's time goes: events between forward, backward and the optimizer, 4 steps.
    cudaEvent_t ev[4];
    for (auto& e : ev) DMA_CUDA_CHECK(cudaEventCreate(&e));
    double fwd = 0, bwd = 0, opt = 0;
    const std::size_t reps = 4;
    for (std::size_t s = 0; s < reps; ++s) {
      DMA_CUDA_CHECK(cudaEventRecord(ev[0]));
      m.zero_grads();
      m.enqueue_forward(state.params.data(), in.data() + (s % batches) * N, tg.data() + (s % batches) * N, B, T, 1.0);
      DMA_CUDA_CHECK(cudaEventRecord(ev[1]));
      m.backward(1.0f);
      DMA_CUDA_CHECK(cudaEventRecord(ev[2]));
      model::cuda_adamw_step_async(m.layout(), state, m.grads(), 1e-3f, adam);
      DMA_CUDA_CHECK(cudaEventRecord(ev[3]));
      DMA_CUDA_CHECK(cudaEventSynchronize(ev[3]));
      fwd += elapsed_ms(ev[0], ev[1]);
      bwd += elapsed_ms(ev[1], ev[2]);
      opt += elapsed_ms(ev[2], ev[3]);
    }
    // The attention kernels alone, one layer's worth, on this model's shapes (random q, k, v).
    const std::size_t C = cfg.d_model, NH = cfg.heads, hs = C / NH;
    Rng ar(3);
    std::vector<float> hq(N * 3 * C), hd(N * C);
    for (auto& x : hq) x = float(ar.normal(0.0, 1.0));
    for (auto& x : hd) x = float(ar.normal(0.0, 1.0));
    auto qkv = backend::cuda::DeviceBuffer<float>::from_host(hq);
    auto dout = backend::cuda::DeviceBuffer<float>::from_host(hd);
    backend::cuda::DeviceBuffer<float> out(N * C), lse(B * NH * T), D(B * NH * T), dqkv(N * 3 * C);
    double flash_f = 0, flash_b = 0;
    const bool precise = !tf32;
    for (std::size_t s = 0; s < 4; ++s) {
      DMA_CUDA_CHECK(cudaEventRecord(ev[0]));
      backend::cuda::flash_attention_forward(out.data(), lse.data(), qkv.data(), nullptr, nullptr, B, T, C, NH, precise);
      DMA_CUDA_CHECK(cudaEventRecord(ev[1]));
      backend::cuda::flash_attention_backward(dqkv.data(), D.data(), dout.data(), out.data(), qkv.data(), lse.data(),
                                              nullptr, nullptr, B, T, C, NH, precise);
      DMA_CUDA_CHECK(cudaEventRecord(ev[2]));
      DMA_CUDA_CHECK(cudaEventSynchronize(ev[2]));
      if (s > 0) {  // the first call sets the kernels' shared-memory limits
        flash_f += elapsed_ms(ev[0], ev[1]) / 3;
        flash_b += elapsed_ms(ev[1], ev[2]) / 3;
      }
    }
    // FLOPs the flash kernels execute (causal tiles only, 64 x 64): forward 3 tile products
    // (scores twice, P V), backward 7 (dK/dV kernel 4, dQ kernel 3), each 2 * 64 * 64 * hs.
    const double nt = double((T + 63) / 64), pairs = nt * (nt + 1) / 2 * double(B * NH);
    const double tile = 2.0 * 64 * 64 * double(hs);
    std::printf(
        "{\"bench\":\"proxy_cuda_phases\",\"model\":\"%s\",\"attention\":\"%s\",\"math\":\"%s\","
        "\"forward_ms\":%.3f,\"backward_ms\":%.3f,\"optimizer_ms\":%.3f,\"flash_layer_forward_ms\":%.3f,"
        "\"flash_layer_backward_ms\":%.3f,\"flash_forward_tflops\":%.1f,\"flash_backward_tflops\":%.1f}\n",
        pr.name, att_name, tf32 ? "tf32" : "fp32", fwd / reps, bwd / reps, opt / reps, flash_f, flash_b,
        3 * pairs * tile / (flash_f * 1e9), 7 * pairs * tile / (flash_b * 1e9));
    std::fflush(stdout);

    // The step's GEMMs alone at this model's shapes (cuBLAS, this math mode): time per call and
    // TFLOP/s, forward (y = x W^T) and backward (dx = dy W; dW += dy^T x), and the per-step sum.
    // lm_head is also timed with its output rows padded from V to a multiple of 8 floats, since an
    // odd leading dimension (259) may keep cuBLAS off its aligned kernels.
    const std::size_t H = cfg.hidden(), V = cfg.vocab, Vp = (V + 7) / 8 * 8;
    struct Shape { const char* name; std::size_t IC, OC, per_step; };
    const Shape shapes[] = {{"qkv", C, 3 * C, cfg.layers}, {"wo", C, C, cfg.layers},
                            {"gate_up", C, 2 * H, cfg.layers}, {"down", H, C, cfg.layers},
                            {"lm_head", C, V, 1}};
    const std::size_t big = std::max(2 * H, 3 * C);
    backend::cuda::DeviceBuffer<float> gx(N * big, false), gy(N * big, false), gdx(N * big, false),
        gw(big * big, false), gdw(big * big, false);
    {
      std::vector<float> hx(N * big);
      for (std::size_t i = 0; i < hx.size(); ++i)  // non-zero data (zeros can run faster); no RNG cost
        hx[i] = float((i * 2654435761u) % 2001u) / 1000.0f - 1.0f;
      gx.upload(hx.data(), hx.size());
      gy.upload(hx.data(), hx.size());
      gw.upload(hx.data(), big * big);
    }
    const backend::Cuda be{};
    double total = 0, total_flops = 0;
    std::string rows;
    auto time_it = [&](auto&& fn) {
      fn();
      DMA_CUDA_CHECK(cudaEventRecord(ev[0]));
      for (int i = 0; i < 5; ++i) fn();
      DMA_CUDA_CHECK(cudaEventRecord(ev[1]));
      DMA_CUDA_CHECK(cudaEventSynchronize(ev[1]));
      return elapsed_ms(ev[0], ev[1]) / 5;
    };
    for (const Shape& sh : shapes) {
      const double f = 2.0 * double(N) * double(sh.IC) * double(sh.OC);
      const double tf = time_it([&] { matmul_forward(be, gy.data(), gx.data(), gw.data(), N, sh.IC, sh.OC); });
      const double tb = time_it([&] {
        matmul_backward(be, gdx.data(), gdw.data(), gy.data(), gx.data(), gw.data(), N, sh.IC, sh.OC);
      });
      total += double(sh.per_step) * (tf + tb);
      total_flops += double(sh.per_step) * 3 * f;
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s\"%s\":{\"fwd_ms\":%.3f,\"fwd_tflops\":%.1f,\"bwd_ms\":%.3f,\"bwd_tflops\":%.1f}",
                    rows.empty() ? "" : ",", sh.name, tf, f / (tf * 1e9), tb, 2 * f / (tb * 1e9));
      rows += buf;
    }
    const double lm_f = 2.0 * double(N) * double(C) * double(V);
    const double tpad = time_it([&] {
      backend::cuda::gemm(CUBLAS_OP_T, CUBLAS_OP_N, V, N, C, 1.0f, gw.data(), C, gx.data(), C, 0.0f, gy.data(), Vp);
    });
    std::printf("{\"bench\":\"proxy_cuda_gemms\",\"model\":\"%s\",\"math\":\"%s\",%s,"
                "\"lm_head_fwd_padded_ms\":%.3f,\"lm_head_fwd_padded_tflops\":%.1f,\"step_gemm_ms\":%.3f,"
                "\"step_gemm_tflops\":%.1f}\n",
                pr.name, tf32 ? "tf32" : "fp32", rows.c_str(), tpad, lm_f / (tpad * 1e9), total,
                total_flops / (total * 1e9));
    std::fflush(stdout);
    for (auto& e : ev) cudaEventDestroy(e);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string only;
    bool fp32 = false, peers = true;
    auto attention = model::CudaAttention::flash;
    double peak = 494.0, scale = 1.0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const char* what) -> std::string {
        if (i + 1 >= argc) fail("bench_proxy_cuda: ", what, " needs a value");
        return argv[++i];
      };
      if (a == "--only") only = value("--only");
      else if (a == "--fp32") fp32 = true;
      else if (a == "--no-peers") peers = false;
      else if (a == "--attention") {
        const std::string v = value("--attention");
        if (v == "flash") attention = model::CudaAttention::flash;
        else if (v == "materialized") attention = model::CudaAttention::materialized;
        else fail("bench_proxy_cuda: --attention '", v, "': expected flash or materialized");
      }
      else if (a == "--peak-tflops") peak = std::stod(value("--peak-tflops"));
      else if (a == "--steps-scale") scale = std::stod(value("--steps-scale"));
      else fail("bench_proxy_cuda: unknown argument '", a,
                "' (expected --only, --fp32, --attention, --peak-tflops, --steps-scale, --no-peers)");
    }
    if (!backend::cuda::device_available()) {
      std::fprintf(stderr, "bench_proxy_cuda: no CUDA device\n");
      return 77;
    }
    cudaDeviceProp prop{};
    DMA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    bool any = false;
    for (const Preset& p : kPresets) {
      if (!only.empty() && only != p.name) continue;
      const bool big = std::string(p.name) == "50M";
      run(p, !fp32, attention, peak, scale, prop.name, peers && big);
      any = true;
      // The in-process peers of the 50M model: the other attention path (same math), then
      // strict FP32 GEMMs (and ~FP32 attention products).
      if (peers && big && !fp32) {
        const auto other = attention == model::CudaAttention::flash ? model::CudaAttention::materialized
                                                                    : model::CudaAttention::flash;
        run(p, true, other, peak, scale, prop.name, false);
        run(p, false, attention, peak, std::min(scale, 0.5), prop.name, false);
      }
    }
    if (!any) fail("bench_proxy_cuda: --only '", only, "' matches no preset (50M, 50M-ctx128, 50M-640, 0.8M, 10M)");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_proxy_cuda: %s\n", e.what());
    return 1;
  }
}
