// benchmarks/cuda_env/bench_env_cuda.cpp: the time of one full CPT environment stage on the GPU
// (issue: CUDA backend, item 5): env::Cpt<backend::Cuda> trains `steps` optimizer steps on a
// mixture and evaluates (held-out bits/byte windows + gold probes), at the ~0.8M, ~10M and ~50M
// shapes of bench_proxy_cuda; and the same stage of the 0.8M model on env::Cpt<backend::Cpu> as
// the peer measured in the same run. Synthetic byte corpus (three domains made with dma::Rng), a
// base model of two steps (the stage's cost does not depend on the weights). One JSON object per
// line on stdout. Host code (g++); examples/cuda/host_impl.cu holds the CUDA definitions.
//
//   bench_env_cuda [--models 0.8M,10M,50M] [--cpu true] [--gpu true] [--tf32 true]   (--gpu false: the CPU peer only)
#include <dma/backend/cuda/host.hpp>
#include <dma/core/config.hpp>
#include <dma/env/cpt.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>

namespace {

struct Shape {
  const char* name;
  std::size_t d_model, layers, heads, context, batch, steps;
};
// The shapes of benchmarks/bench_proxy_cuda.cu; a stage is `steps` optimizer steps.
const Shape kShapes[] = {{"0.8M", 128, 4, 4, 128, 64, 16}, {"10M", 384, 6, 6, 256, 64, 16}, {"50M", 768, 7, 12, 256, 128, 16}};

std::string text(dma::Rng& r, std::size_t bytes, int kind) {
  static const char* words[] = {"the", "river", "stone", "quiet", "house", "and", "of", "light", "morning",
                                "wind", "a", "garden", "walked", "slowly", "under", "bright", "old", "door"};
  std::string s;
  while (s.size() < bytes) {
    if (kind == 0) s += std::string(words[r.below(18)]) + (r.below(9) == 0 ? ".\n" : " ");
    else if (kind == 1) s += "id=" + std::to_string(r.below(5000)) + ";size=" + std::to_string(r.below(90)) + "\n";
    else {
      const unsigned a = r.below(50), b = r.below(50);
      s += "Question: " + std::to_string(a) + " plus " + std::to_string(b) + "?\nAnswer: " + std::to_string(a + b) + "\n";
    }
  }
  return s;
}

dma::env::CptData corpus() {
  dma::Rng r(7);
  std::vector<dma::DomainInfo> info{{"prose", dma::Field::Source}, {"records", dma::Field::Source},
                                    {"math", dma::Field::Target}};
  std::vector<std::vector<dma::Token>> train(3);
  std::vector<std::vector<std::string>> held(3);
  for (int d = 0; d < 3; ++d) {
    const std::string t = text(r, 4u << 20, d);  // 4 MiB per domain; the sampler repeats it as needed
    train[d].assign(t.begin(), t.end());
    for (int i = 0; i < 48; ++i) held[d].push_back(text(r, 2048, d));
  }
  return dma::env::CptData::from_memory(info, std::move(train), std::move(held), "synthetic corpus");
}

dma::env::CptConfig config(const Shape& s, const std::filesystem::path& cache, std::size_t threads) {
  dma::env::CptConfig c;
  c.base.model.d_model = s.d_model;
  c.base.model.layers = s.layers;
  c.base.model.heads = s.heads;
  c.base.model.context = s.context;
  c.base.batch = s.batch;
  c.base.tokens = 2 * s.batch * s.context;
  c.base.cache_dir = cache;
  c.batch = s.batch;
  c.stages = 4;
  c.tokens_per_stage = s.steps * s.batch * s.context;
  c.eval.windows = 64;
  c.eval.probe_items = 32;
  c.eval.batch = s.batch;
  c.threads = threads;
  c.base.threads = threads;
  return c;
}

template <class B>
void run(Shape s, const dma::env::CptData& data, const std::filesystem::path& cache, bool tf32, std::size_t threads) {
  const auto world = dma::env::CptWorld<B>::create(config(s, cache, threads), data, data, false);
  dma::env::Cpt<B> env(world, 1);
  env.reset(1);
  const dma::Mixture mix{0.3, 0.3, 0.4};
  env.step(mix);  // warm-up: allocations, cuBLAS heuristics, page faults
  const dma::Feedback f = env.step(mix);
  const auto& t = env.timing();
  const double tokens = double(s.steps * s.batch * s.context);
  std::ostringstream o;
  o << dma::Json{{"bench", "env_stage"},
                 {"backend", B::name},
                 {"model", s.name},
                 {"params", env.state().num_params()},
                 {"ctx", s.context},
                 {"batch", s.batch},
                 {"steps", s.steps},
                 {"threads", B::is_device ? 0 : threads},
                 {"math", B::is_device ? (tf32 ? "tf32" : "fp32") : "fp32"},
                 {"train_s", t.last_train_seconds},
                 {"eval_s", t.last_eval_seconds},
                 {"stage_s", t.last_train_seconds + t.last_eval_seconds},
                 {"train_tokens_per_s", tokens / t.last_train_seconds},
                 {"eval_share", t.last_eval_seconds / (t.last_train_seconds + t.last_eval_seconds)},
                 {"loss_last", f.loss}}
           .dump();
  std::printf("%s\n", o.str().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const dma::Config cfg = dma::Config::from_args(argc, argv);
    const std::string models = cfg.get<std::string>("models", "0.8M,10M,50M");
    const bool cpu = cfg.get<bool>("cpu", true), gpu = cfg.get<bool>("gpu", true), tf32 = cfg.get<bool>("tf32", true);
    if (gpu) dma::backend::cuda::set_tf32(tf32);
    const auto cache = std::filesystem::temp_directory_path() / ("dma_bench_env_" + std::to_string(::getpid()));
    const auto data = corpus();
    for (const Shape& s : kShapes) {
      if (models.find(s.name) == std::string::npos) continue;
      if (gpu) run<dma::backend::Cuda>(s, data, cache, tf32, 1);
      if (cpu && std::string(s.name) == "0.8M") {
        // The CPU peer: the same model and evaluation, 2 steps per stage (the train rate is per token),
        // every core of the machine.
        Shape c = s;
        c.steps = 2;
        run<dma::backend::Cpu>(c, data, cache, tf32, std::max(1u, std::thread::hardware_concurrency()));
      }
    }
    std::filesystem::remove_all(cache);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_env_cuda: %s\n", e.what());
    return 1;
  }
}
