// benchmarks/bench_proxy.cpp: training throughput of the LLM proxy on CPU at a config given by
// flags; prints one JSON object (tokens_per_s, gflops = model FLOP/s, params, and the Eigen SGEMM
// peak measured in the same process for reference, and "phases": ms per step of forward, backward,
// gradient reduction, optimizer, with each thread's busy time). scripts/bench_proxy.sh runs it interleaved
// with the PyTorch peer (scripts/bench_proxy_torch.py) and prints the ratios.
//   bench_proxy --vocab 256 --d-model 128 --layers 4 --heads 4 --ctx 128 --batch 16 --threads 1 --steps 20
//   bench_proxy --cpt 1 --config examples/presets/proxy-0.8m.json [--seeds 2 --prefix 4 --ref-windows 256]
//       env::Cpt per-stage train/eval seconds and feedback noise vs the effect of a mixture change
#include <dma/core/config.hpp>
#include <dma/core/rng.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/state.hpp>

#include <dma/env/cpt.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

// --cpt mode: the cost and the signal of env::Cpt at the preset's env.cpt block. For each of
// `seeds` runs: `prefix` stages at the 50% mix (per-stage train/eval seconds), then two one-stage
// branches from that state, at the 50% and the 75% target share. Both branches are evaluated by
// the preset's fast set and by reference sets of 32, 64 and `ref_windows` windows per domain
// (the same model, bpb only): the effect of the 25-point mixture change on the source mean and
// the target bpb, the fast set's error on that effect, and its spread across seeds.
int cpt_mode(const dma::Config& cfg) {
  using namespace dma;
  const Config ec = cfg.sub("env").sub("cpt");
  const env::CptConfig cc = env::CptConfig::from_config(ec);
  const auto seeds = cfg.get<std::size_t>("seeds", 2);
  const auto prefix = cfg.get<std::size_t>("prefix", 4);
  const auto ref_windows = cfg.get<std::size_t>("ref-windows", 256);
  const auto world = env::CptWorld<>::create(cc, true);
  const EpisodeSpec spec = world->spec();
  const std::size_t D = spec.num_domains(), T = cc.base.model.context;
  auto mix = [&](double share) {
    Mixture m(D);
    const double ns = double(spec.count(Field::Source)), nt = double(spec.count(Field::Target));
    for (std::size_t i = 0; i < D; ++i)
      m[i] = spec.domains[i].field == Field::Target ? share / nt : (1.0 - share) / ns;
    return m;
  };
  std::vector<std::pair<std::size_t, env::CptEvalSet>> refs;
  for (std::size_t w : {std::size_t(32), std::size_t(64), ref_windows}) {
    env::CptEvalConfig e = cc.eval;
    refs.emplace_back(w, env::CptEvalSet::build(world->data(), e, T, w, 0, 0));
  }
  auto field_mean = [&](const std::vector<double>& l, Field f) {
    double a = 0, n = 0;
    for (std::size_t i = 0; i < D; ++i)
      if (spec.domains[i].field == f) a += l[i], n += 1;
    return a / n;
  };
  model::Llama<> net(cc.base.model, world->eval_max_batch(), cc.threads);
  Json runs = Json::array();
  std::vector<double> tr_s, ev_s;
  for (std::size_t sd = 1; sd <= seeds; ++sd) {
    env::Cpt<> e(world, 1);
    e.reset(sd);
    for (std::size_t t = 0; t < prefix; ++t) {
      e.step(mix(0.5));
      tr_s.push_back(e.timing().last_train_seconds);
      ev_s.push_back(e.timing().last_eval_seconds);
      std::fprintf(stderr, "seed %zu stage %zu: train %.2f s eval %.2f s\n", sd, t + 1, tr_s.back(), ev_s.back());
    }
    Json branch = Json::object();
    for (double share : {0.5, 0.75}) {
      env::Cpt<> b = e.fork();
      const Feedback f = b.step(mix(share));
      tr_s.push_back(b.timing().last_train_seconds);
      ev_s.push_back(b.timing().last_eval_seconds);
      Json j{{"fast_source", field_mean(f.loss, Field::Source)}, {"fast_target", field_mean(f.loss, Field::Target)}};
      for (const auto& [w, set] : refs) {
        const auto r = set.evaluate(net, b.state().params.data());
        j["w" + std::to_string(w) + "_source"] = field_mean(r.bpb, Field::Source);
        j["w" + std::to_string(w) + "_target"] = field_mean(r.bpb, Field::Target);
      }
      branch[share == 0.5 ? "mix50" : "mix75"] = j;
    }
    Json eff = Json::object();
    for (const auto& [k, v] : branch["mix50"].items()) eff[k] = branch["mix75"][k].get<double>() - v.get<double>();
    runs.push_back(Json{{"seed", sd}, {"branches", branch}, {"effect_75_minus_50", eff}});
  }
  double tr = 0, ev = 0;
  for (std::size_t i = 0; i < tr_s.size(); ++i) tr += tr_s[i], ev += ev_s[i];
  const double n = double(tr_s.size());
  Json out{{"impl", "dma-cpt"}, {"eval_windows", cc.eval.windows}, {"probe_items", cc.eval.probe_items},
           {"params", world->base().state.num_params()}, {"tokens_per_stage", cc.steps_per_stage() * cc.batch * T},
           {"stages_timed", tr_s.size()}, {"train_s_per_stage", tr / n}, {"eval_s_per_stage", ev / n},
           {"eval_share", ev / (tr + ev)}, {"train_tokens_per_s", double(cc.steps_per_stage() * cc.batch * T) * n / tr},
           {"runs", runs}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const dma::Config cfg = dma::Config::from_args(argc, argv);
    if (cfg.has("cpt")) return cpt_mode(cfg);
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
    const bool serial_opt = cfg.get<bool>("serial-opt", false);
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
      if (!serial_opt) {
        loss = dma::model::train_step(model, state, sched, adam, std::span(&mb, 1)).loss;
        return;
      }
      // The step as it was before the optimizer was split over threads (for before/after
      // comparisons in one run): serial zeroing, serial norm and AdamW update.
      auto& pt = model.phase_times();
      auto c0 = now();
      std::memset(model.grads(), 0, model.num_params() * sizeof(float));
      pt.zero += now() - c0;
      loss = model.forward(state.params.data(), mb.inputs, mb.targets, B, T);
      model.backward(1.0f);
      c0 = now();
      dma::model::adamw_step(dma::backend::Cpu{}, model.layout(), state, model.grads(), sched.at(state.step), adam);
      pt.optimizer += now() - c0;
    };
    for (std::size_t s = 0; s < warmup; ++s) step(s);
    model.reset_phase_times();
    const double t0 = now();
    for (std::size_t s = 0; s < steps; ++s) step(s);
    const double dt = now() - t0;
    // Phase breakdown (ms per step) from the model's timers: wall of each pool job, and per
    // thread the busy span of its shard.
    const auto& pt = model.phase_times();
    const double per = 1e3 / double(steps);
    std::vector<double> busy_f, busy_b;
    for (double v : pt.busy_forward) busy_f.push_back(v * per);
    for (double v : pt.busy_backward) busy_b.push_back(v * per);
    const dma::Json phases{{"forward_ms", pt.forward * per},
                           {"backward_ms", pt.backward * per},
                           {"reduce_ms", pt.reduce * per},
                           {"optimizer_ms", pt.optimizer * per},
                           {"zero_ms", pt.zero * per},
                           {"other_ms", (dt - pt.forward - pt.backward - pt.reduce - pt.optimizer - pt.zero) * per},
                           {"busy_forward_ms", busy_f},
                           {"busy_backward_ms", busy_b}};
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
                  {"serial_opt", serial_opt},
                  {"steps", steps},
                  {"params", model.num_params()},
                  {"seconds", dt},
                  {"step_ms", dt / double(steps) * 1e3},
                  {"tokens_per_s", tokens / dt},
                  {"gflops", gflops},
                  {"sgemm_peak_gflops_1thread", peak},
                  {"peak_fraction", peak > 0 ? gflops / (peak * double(model.threads())) : 0.0},
                  {"final_loss", loss},
                  {"phases", phases}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const dma::Error& e) {
    std::fprintf(stderr, "bench_proxy: %s\n", e.what());
    return 2;
  }
}
