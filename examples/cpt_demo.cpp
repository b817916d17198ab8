// examples/cpt_demo.cpp: continual pre-training on the LLM proxy (env::Cpt) with three static
// schedules from the same base model and seed: target-only, source-only (replay only) and a 50%
// target mix. Prints per-stage feedback (bits/byte per domain, gold-answer probes), the
// train/eval time split, tokens/s, and a summary against the base model (forgetting vs gain).
//
//   scripts/prepare_data.sh --shards build/realenv          # once: corpus + shards
//   build/realenv/examples/cpt_demo [--shards .cache/dma-data/shards]
//       [--domains '["fiction","nonfiction","manpages","math"]'] [--threads 2] [--seed 1]
//       [--stages 10] [--tokens_per_stage 16384] [--peak_lr 5e-4] [--base.tokens 2500000]
//       [--pool_tokens '{"math": 20000}'] [--final] [--config FILE.json]
//
// Every key of env::CptConfig (docs/ENVIRONMENT.md) can be given as --key value or in the JSON
// file. The base model is pre-trained once and cached (base.cache_dir, .cache/dma-base).
// The last line of stdout is one JSON object with every number printed above.
#include <dma/core/config.hpp>
#include <dma/core/error.hpp>
#include <dma/env/cpt.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace dma;

namespace {

struct Run {
  std::string name;
  Mixture mixture;
  std::vector<Feedback> stages;
  Feedback final_fb;
  double train_s = 0, eval_s = 0, eval_tokens = 0;
  std::vector<double> train_stage_s, eval_stage_s;
};

double mean_field(const Feedback& f, const EpisodeSpec& s, Field fld) {
  double a = 0, n = 0;
  for (std::size_t i = 0; i < f.loss.size(); ++i)
    if (s.domains[i].field == fld) a += f.loss[i], n += 1;
  return n > 0 ? a / n : 0.0;
}
double max_field(const Feedback& f, const Feedback& base, const EpisodeSpec& s, Field fld) {
  double m = -1e9;
  for (std::size_t i = 0; i < f.loss.size(); ++i)
    if (s.domains[i].field == fld) m = std::max(m, f.loss[i] - base.loss[i]);
  return m;
}

void print_row(const char* label, const Feedback& f, const EpisodeSpec& s, double tr, double ev) {
  std::printf("%-8s", label);
  for (double l : f.loss) std::printf(" %8.3f", l);
  std::printf(" | src %6.3f tgt %6.3f |", mean_field(f, s, Field::Source), mean_field(f, s, Field::Target));
  for (double v : f.score) std::printf(" %8.4f", v);
  if (tr >= 0) std::printf(" | train %5.2fs eval %5.2fs (%4.1f%%)", tr, ev, 100.0 * ev / std::max(tr + ev, 1e-9));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Config cfg = Config::from_args(argc, argv);
    if (!cfg.has("shards")) cfg.set("shards", ".cache/dma-data/shards");
    if (!cfg.has("domains")) cfg.set("domains", Json::array({"fiction", "nonfiction", "manpages", "math"}));
    if (!cfg.has("threads")) cfg.set("threads", 2);
    if (!cfg.has("base.threads")) cfg.set("base.threads", cfg.get<std::size_t>("threads", 2));
    Json env_json = cfg.json();
    for (const char* k : {"seed", "final", "args"}) env_json.erase(k);
    const env::CptConfig cc = env::CptConfig::from_json(env_json, cfg.source());
    const std::uint64_t seed = cfg.get<std::uint64_t>("seed", 1);
    const bool final_eval = cfg.get<bool>("final", false);

    const auto t0 = std::chrono::steady_clock::now();
    const auto world = env::CptWorld<>::create(cc, true);
    const double world_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& base = world->base();
    const EpisodeSpec spec = world->spec();
    const std::size_t D = spec.num_domains();
    std::fprintf(stderr, "cpt_demo: base model %s (%s), %zu params; world ready in %.1f s\n", base.key.c_str(),
                 base.from_cache ? "cached" : "pre-trained now", base.state.num_params(), world_s);

    std::printf("domains:");
    for (const auto& d : spec.domains) std::printf(" %s(%s)", d.name.c_str(), to_string(d.field));
    std::printf("\nprobes:");
    for (const auto& n : world->base_feedback().score_name) std::printf(" %s", n.c_str());
    std::printf("\nstage %zu x %zu steps x %zu x %zu tokens, peak LR %.1e re-warmed over %zu of %zu steps, "
                "eval %zu windows/domain + %zu probe items, threads %zu\n",
                cc.stages, cc.steps_per_stage(), cc.batch, cc.base.model.context, double(cc.peak_lr),
                cc.warmup_steps(), cc.total_steps(), cc.eval.windows, cc.eval.probe_items, cc.threads);

    const std::size_t ns = spec.count(Field::Source), nt = spec.count(Field::Target);
    auto make = [&](double target_share) {
      Mixture m(D);
      for (std::size_t i = 0; i < D; ++i)
        m[i] = spec.domains[i].field == Field::Target ? (nt ? target_share / double(nt) : 0.0)
                                                      : (ns ? (1.0 - target_share) / double(ns) : 0.0);
      return space::normalize(m);
    };
    std::vector<Run> runs{{"target-only", make(1.0), {}, {}, 0, 0, 0, {}, {}},
                          {"source-only", make(0.0), {}, {}, 0, 0, 0, {}, {}},
                          {"mixed-50", make(0.5), {}, {}, 0, 0, 0, {}, {}}};
    const Feedback& b0 = world->base_feedback();
    std::printf("\n%-8s", "");
    for (const auto& d : spec.domains) std::printf(" %8.8s", d.name.c_str());
    std::printf("   (bits/byte)          | gold log-prob per byte (nats)\n");
    print_row("base", b0, spec, -1, -1);
    Feedback base_final;
    if (final_eval) {
      env::Cpt<> e0(world);
      base_final = e0.final_eval();
    }
    for (auto& run : runs) {
      std::printf("\n== %s: mixture", run.name.c_str());
      for (double w : run.mixture) std::printf(" %.3f", w);
      std::printf("\n");
      env::Cpt<> e(world);
      e.reset(seed);
      for (std::size_t t = 0; t < cc.stages; ++t) {
        const Feedback f = e.step(run.mixture);
        run.stages.push_back(f);
        run.train_stage_s.push_back(e.timing().last_train_seconds);
        run.eval_stage_s.push_back(e.timing().last_eval_seconds);
        char label[16];
        std::snprintf(label, sizeof label, "stage %zu", t + 1);
        print_row(label, f, spec, e.timing().last_train_seconds, e.timing().last_eval_seconds);
      }
      run.train_s = e.timing().train_seconds;
      run.eval_s = e.timing().eval_seconds;
      run.eval_tokens = e.timing().eval_tokens;
      std::printf("epochs of each domain's pool:");
      for (std::size_t i = 0; i < D; ++i) std::printf(" %s %.2f", spec.domains[i].name.c_str(), e.epochs(i));
      std::printf("\n");
      if (final_eval) {
        run.final_fb = e.final_eval();
        print_row("final", run.final_fb, spec, -1, -1);
      }
    }

    // Summary against the base model.
    std::printf("\n%-12s %9s %9s %9s %9s | %9s %9s | %7s %7s %8s\n", "schedule", "src bpb", "d src", "worst d",
                "tgt bpb", "src probe", "tgt probe", "train s", "eval s", "tok/s");
    std::printf("%-12s %9.3f %9s %9s %9.3f | %9.4f %9.4f |\n", "base", mean_field(b0, spec, Field::Source), "", "",
                mean_field(b0, spec, Field::Target), b0.score.empty() ? 0.0 : b0.score.front(),
                b0.score.size() > 1 ? b0.score[1] : 0.0);
    Json out{{"base_key", base.key}, {"base_from_cache", base.from_cache}, {"base_meta", base.meta},
             {"world_seconds", world_s}, {"base_eval_seconds", world->base_eval_seconds()},
             {"config", cc.to_json()}, {"seed", seed}, {"base", {{"loss", b0.loss}, {"score", b0.score}}},
             {"domains", Json::array()}, {"score_names", b0.score_name}, {"runs", Json::array()}};
    for (const auto& d : spec.domains) out["domains"].push_back(d.name);
    for (const auto& run : runs) {
      const Feedback& f = run.stages.back();
      const double tok_s = f.tokens / std::max(run.train_s, 1e-9);
      std::printf("%-12s %9.3f %+9.3f %+9.3f %9.3f | %9.4f %9.4f | %7.1f %7.1f %8.0f\n", run.name.c_str(),
                  mean_field(f, spec, Field::Source), mean_field(f, spec, Field::Source) - mean_field(b0, spec, Field::Source),
                  max_field(f, b0, spec, Field::Source), mean_field(f, spec, Field::Target),
                  f.score.empty() ? 0.0 : f.score.front(), f.score.size() > 1 ? f.score[1] : 0.0, run.train_s, run.eval_s,
                  tok_s);
      Json stages = Json::array();
      for (std::size_t t = 0; t < run.stages.size(); ++t)
        stages.push_back({{"loss", run.stages[t].loss}, {"score", run.stages[t].score},
                          {"train_s", run.train_stage_s[t]}, {"eval_s", run.eval_stage_s[t]}});
      Json r{{"name", run.name}, {"mixture", run.mixture}, {"stages", stages}, {"train_seconds", run.train_s},
             {"eval_seconds", run.eval_s}, {"eval_share", run.eval_s / std::max(run.train_s + run.eval_s, 1e-9)},
             {"train_tokens", f.tokens}, {"eval_tokens", run.eval_tokens}, {"train_tokens_per_second", tok_s},
             {"flops", f.flops}};
      if (final_eval)
        r["final"] = {{"loss", run.final_fb.loss}, {"score", run.final_fb.score}, {"names", run.final_fb.score_name}};
      out["runs"].push_back(r);
    }
    if (final_eval) out["base_final"] = {{"loss", base_final.loss}, {"score", base_final.score}, {"names", base_final.score_name}};
    double tr = 0, ev = 0;
    for (const auto& run : runs) tr += run.train_s, ev += run.eval_s;
    std::printf("\nper stage: train %.2f s, eval %.2f s (eval = %.1f%% of the stage)\n", tr / double(3 * cc.stages),
                ev / double(3 * cc.stages), 100.0 * ev / std::max(tr + ev, 1e-9));
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpt_demo: %s\n", e.what());
    return 1;
  }
}
