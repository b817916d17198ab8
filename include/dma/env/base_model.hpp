// dma/env/base_model.hpp: base models, the start of every CPT run: the proxy pre-trained on a
// mixture of SOURCE domains only, saved as a framed TrainState and cached under
// <cache_dir>/base-<key>.state (+ .json with what made it and what it cost), where the key hashes
// the full BaseModelConfig identity (model shape, sources and weights, tokens, optimiser, seed)
// and the fingerprint of the source data. Several base models (sizes, source sets) coexist.
// Tested in tests/unit/env_cpt_base.cpp (cache hit reuses, any identity change misses).
#pragma once

#include <chrono>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "dma/backend/tags.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/sampler.hpp"
#include "dma/env/cpt_config.hpp"
#include "dma/env/cpt_data.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/optim.hpp"
#include "dma/model/schedule.hpp"
#include "dma/model/state.hpp"

namespace dma::env {

template <class B = backend::Cpu>
struct BaseModel {
  model::TrainState<B> state;   // trained parameters (moments and step as pre-training left them)
  std::filesystem::path path;   // the cached checkpoint
  std::string key;              // 16 hex digits
  bool from_cache = false;
  Json meta;                    // the .json next to the checkpoint (config, cost, final loss)
};

// The source domains a base model trains on, with their normalised weights (indices into `data`).
struct BaseSources {
  std::vector<std::size_t> index;
  std::vector<double> weight;
};

inline BaseSources resolve_base_sources(const BaseModelConfig& cfg, const CptData& data) {
  BaseSources s;
  if (cfg.sources.empty()) {
    for (std::size_t i = 0; i < data.size(); ++i)
      if (data.field(i) == Field::Source) s.index.push_back(i);
    if (s.index.empty()) fail(data.source, ": base model: the data has no source-field domain to pre-train on");
  } else {
    for (const auto& n : cfg.sources) {
      const std::size_t i = data.index(n, "base source domain");
      if (data.field(i) != Field::Source)
        fail(data.source, ": base model: key 'base.sources': '", n, "' is a target-field domain; the base model ",
             "is pre-trained on the source field only");
      s.index.push_back(i);
    }
  }
  double sum = 0;
  for (std::size_t k = 0; k < s.index.size(); ++k) {
    const double w = cfg.weights.empty() ? 1.0 : cfg.weights[k];
    s.weight.push_back(w);
    sum += w;
  }
  if (!(sum > 0)) fail(data.source, ": base model: key 'base.weights': they sum to 0");
  for (double& w : s.weight) w /= sum;
  return s;
}

// The cache key: identity of the config + fingerprint of the source domains it reads.
inline std::string base_model_key(const BaseModelConfig& cfg, const CptData& data) {
  const BaseSources src = resolve_base_sources(cfg, data);
  std::vector<std::string> names;
  for (std::size_t i : src.index) names.push_back(data.name(i));
  const CptData used = data.select(names);
  Json id = cfg.identity();
  id["sources"] = names;  // resolved (an empty list means "all" of THIS data)
  id["weights"] = src.weight;
  std::uint64_t h = detail::hash_string(id.dump());
  h = detail::hash_string(detail::hex64(used.fingerprint()), h);
  return detail::hex64(h);
}

// Pre-trains a fresh proxy on the source mixture (linear warmup + cosine). `report` receives
// the cost and the final training loss.
template <class B = backend::Cpu>
model::TrainState<B> pretrain_base(const BaseModelConfig& cfg, const CptData& data, bool progress = true,
                                   Json* report = nullptr) {
  reflect::validate(cfg, "base model config");
  const BaseSources src = resolve_base_sources(cfg, data);
  const std::size_t T = cfg.model.context, Bn = cfg.batch, steps = cfg.steps();
  std::vector<std::span<const Token>> spans;
  std::vector<std::string> names;
  Mixture w;
  for (std::size_t k = 0; k < src.index.size(); ++k) {
    spans.push_back(data.train[src.index[k]]);
    names.push_back(data.name(src.index[k]));
    w.push_back(src.weight[k]);
  }
  const Rng root(cfg.seed);
  data::SamplerConfig sc;
  sc.batch = Bn;
  sc.context = T;
  data::MixtureSampler sampler(spans, sc, root.split("base.data").next_u64(), names);
  sampler.set_weights(w);
  model::Llama<B> net(cfg.model, Bn, cfg.threads);
  auto state = model::TrainState<B>::create(cfg.model, cfg.seed);
  const std::size_t warmup = std::max<std::size_t>(1, std::size_t(cfg.warmup_frac * double(steps) + 0.5));
  const auto sched = model::LrSchedule::warmup_cosine(cfg.peak_lr, warmup, steps, cfg.min_ratio);
  std::vector<Token> rows(sampler.batch_tokens()), in(Bn * T), tg(Bn * T);
  Progress prog("base model pre-training", steps, 2.0, progress);
  const auto t0 = std::chrono::steady_clock::now();
  double ema = 0, first = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    sampler.next_batch(rows);
    for (std::size_t b = 0; b < Bn; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        in[b * T + t] = rows[b * (T + 1) + t];
        tg[b * T + t] = rows[b * (T + 1) + t + 1];
      }
    const model::MicroBatch mb{in.data(), tg.data(), Bn, T};
    const auto st = model::train_step(net, state, sched, cfg.adamw, std::span(&mb, 1));
    if (s == 0) first = ema = st.loss;
    ema = 0.98 * ema + 0.02 * st.loss;
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f nats (%.3f bits/byte)  lr %.2e", ema, ema / std::log(2.0), st.lr);
    prog.update(s + 1, extra);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report) {
    Json srcs = Json::object();
    for (std::size_t k = 0; k < names.size(); ++k) srcs[names[k]] = w[k];
    *report = Json{{"steps", steps}, {"tokens", steps * Bn * T}, {"seconds", secs},
                   {"tokens_per_second", double(steps * Bn * T) / std::max(secs, 1e-9)},
                   {"first_loss", first}, {"final_loss_ema", ema}, {"params", state.num_params()},
                   {"flops", net.train_flops(Bn, T) * double(steps)}, {"sources", srcs},
                   {"threads", net.threads()}};
  }
  return state;
}

// Loads the cached base model for (cfg, data), or pre-trains and caches it. Two processes that
// miss at once both train and both write the same bytes atomically (no torn file).
template <class B = backend::Cpu>
BaseModel<B> load_or_pretrain_base(const BaseModelConfig& cfg, const CptData& data, bool progress = true) {
  BaseModel<B> out;
  out.key = base_model_key(cfg, data);
  const auto dir = cfg.cache_dir.empty() ? std::filesystem::path(".") : cfg.cache_dir;
  out.path = dir / ("base-" + out.key + ".state");
  const auto meta_path = dir / ("base-" + out.key + ".json");
  if (std::filesystem::exists(out.path) && std::filesystem::exists(meta_path)) {
    out.state = model::TrainState<B>::load(out.path);
    if (!(out.state.config == cfg.model))
      fail(out.path.string(), ": cached base model has another model shape than its key says (delete the file)");
    out.meta = load_json(meta_path);
    out.from_cache = true;
    return out;
  }
  Json report;
  out.state = pretrain_base<B>(cfg, data, progress, &report);
  std::filesystem::create_directories(dir);
  out.state.save(out.path);
  const BaseSources src = resolve_base_sources(cfg, data);
  std::vector<std::string> names;
  for (std::size_t i : src.index) names.push_back(data.name(i));
  out.meta = Json{{"format", "dma-base-model"}, {"version", 1}, {"key", out.key},
                  {"config", cfg.to_json()}, {"data", data.source}, {"resolved_sources", names},
                  {"data_fingerprint", detail::hex64(data.select(names).fingerprint())}, {"pretrain", report}};
  io::atomic_write(meta_path, out.meta.dump(2) + "\n");
  return out;
}

}  // namespace dma::env
