// dma/env/cpt_config.hpp: the configuration of the continual pre-training environment
// (env::Cpt, env/cpt.hpp) and of the base models it starts from (env/base_model.hpp): model
// shape, source-only pre-training, CPT stages and LR re-warm, evaluation sizes, and the regimes
// (hidden per-domain pool limits, instance-drawn target pools). JSON in and out; every key has a
// default (docs/ENVIRONMENT.md lists them). Configuration only: no state, no IO besides JSON.
// Tested in tests/unit/env_cpt.cpp (bad keys raise dma::Error naming the key).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/model/config.hpp"
#include "dma/model/optim.hpp"

namespace dma::env {

namespace detail {
// A 64-bit FNV-style hash over raw bytes, 8 bytes a step (fast enough for ~30 MB shards); used
// for cache keys and world fingerprints, not for security.
inline std::uint64_t hash_bytes(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  const auto* b = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}
inline std::uint64_t hash_string(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  return hash_bytes(s.data(), s.size(), h);
}
inline std::string hex64(std::uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[std::size_t(i)] = d[v & 15];
  return s;
}
inline Json adamw_json(const model::AdamWConfig& a) {
  return Json{{"beta1", a.beta1}, {"beta2", a.beta2}, {"eps", a.eps}, {"weight_decay", a.weight_decay},
              {"grad_clip", a.grad_clip}};
}
}  // namespace detail

// A base model: the proxy pre-trained on a mixture of source domains only. Its identity (what the
// cache key hashes) is everything here except the cache folder and the thread count [ours: a
// cached base is reused whatever the thread count; threads only change float summation order].
struct BaseModelConfig {
  model::ModelConfig model{};          // the pilot's proxy: d_model 128, 4 layers, 4 heads, ctx 128
  std::filesystem::path shards;        // shard folder of the source domains (empty: the CPT's)
  std::vector<std::string> sources;    // source domains to pre-train on (empty: every source domain)
  std::vector<double> weights;         // their mixture (empty: equal)
  std::size_t tokens = 2'500'000;      // pre-training budget (the pilot's 2.5M)
  std::size_t batch = 8;
  float peak_lr = 1e-3f;
  double warmup_frac = 0.02;           // linear warmup over this share of the steps, then cosine
  float min_ratio = 0.1f;
  model::AdamWConfig adamw{};
  std::uint64_t seed = 1;              // init and data order
  std::filesystem::path cache_dir = ".cache/dma-base";
  std::size_t threads = 1;

  [[nodiscard]] std::size_t steps() const noexcept {
    const std::size_t per = batch * model.context;
    return per ? std::max<std::size_t>(1, (tokens + per / 2) / per) : 0;
  }
  // Identity of the base model (the cache key hashes this plus the data's fingerprint).
  [[nodiscard]] Json identity() const {
    return Json{{"model", model.to_json()}, {"sources", sources}, {"weights", weights}, {"tokens", tokens},
                {"batch", batch}, {"peak_lr", peak_lr}, {"warmup_frac", warmup_frac}, {"min_ratio", min_ratio},
                {"adamw", detail::adamw_json(adamw)}, {"seed", seed}};
  }
  [[nodiscard]] Json to_json() const {
    Json j = identity();
    j["shards"] = shards.string();
    j["cache_dir"] = cache_dir.string();
    j["threads"] = threads;
    return j;
  }
  static BaseModelConfig from_config(const Config& c) {
    BaseModelConfig b;
    if (c.has("model")) b.model = model::ModelConfig::from_config(c.sub("model"));
    b.shards = c.get<std::string>("shards", "");
    b.sources = c.get<std::vector<std::string>>("sources", {});
    b.weights = c.get<std::vector<double>>("weights", {});
    b.tokens = c.get<std::size_t>("tokens", b.tokens);
    b.batch = c.get<std::size_t>("batch", b.batch);
    b.peak_lr = c.get<float>("peak_lr", b.peak_lr);
    b.warmup_frac = c.get<double>("warmup_frac", b.warmup_frac);
    b.min_ratio = c.get<float>("min_ratio", b.min_ratio);
    if (c.has("adamw")) b.adamw = model::AdamWConfig::from_config(c.sub("adamw"));
    b.seed = c.get<std::uint64_t>("seed", b.seed);
    b.cache_dir = c.get<std::string>("cache_dir", b.cache_dir.string());
    b.threads = c.get<std::size_t>("threads", b.threads);
    b.validate(c.source());
    return b;
  }
  void validate(const std::string& source) const {
    model.validate(source + ":model");
    if (batch == 0) fail(source, ": key 'batch': expected >= 1");
    if (tokens < batch * model.context)
      fail(source, ": key 'tokens': expected at least one batch (", batch * model.context, " tokens), got ", tokens);
    if (!weights.empty() && weights.size() != sources.size())
      fail(source, ": key 'weights': ", weights.size(), " weights for ", sources.size(),
           " sources (list the sources when giving weights)");
    for (double w : weights)
      if (!(w >= 0)) fail(source, ": key 'weights': expected non-negative weights, got ", w);
    if (!(peak_lr > 0)) fail(source, ": key 'peak_lr': expected > 0, got ", peak_lr);
    if (!(warmup_frac >= 0 && warmup_frac < 1)) fail(source, ": key 'warmup_frac': expected in [0, 1), got ", warmup_frac);
    if (threads == 0) fail(source, ": key 'threads': expected >= 1");
  }
};

// What is evaluated after every stage (fast) and at the end (final_eval()).
struct CptEvalConfig {
  std::size_t windows = 64;            // fixed held-out windows of context+1 bytes per domain per stage
  std::size_t probe_items = 32;        // gold-answer probe items per probe per stage
  std::size_t probe_context_bytes = 64;// context of a probe item cut from running text
  std::size_t probe_answer_bytes = 64; // gold continuation scored per item
  std::string answer_marker = "\nAnswer:";  // target documents with it give question -> answer probes
  std::size_t batch = 16;              // evaluation batch (forward only)
  std::size_t final_windows = 512;     // final_eval(): windows per domain
  std::size_t final_probe_items = 256; // final_eval(): gold items per probe
  std::size_t final_exact_items = 16;  // final_eval(): greedy exact-match items per target probe
  std::size_t exact_max_bytes = 160;
  // Multiple-choice items per probe (CptEvalSet: the gold continuation among four, accuracy),
  // per stage and in final_eval(); 0 = none, else >= 4.
  std::size_t choice_items = 0, final_choice_items = 0;

  [[nodiscard]] Json to_json() const {
    Json j{{"windows", windows}, {"probe_items", probe_items}, {"probe_context_bytes", probe_context_bytes},
           {"probe_answer_bytes", probe_answer_bytes}, {"answer_marker", answer_marker}, {"batch", batch},
           {"final_windows", final_windows}, {"final_probe_items", final_probe_items},
           {"final_exact_items", final_exact_items}, {"exact_max_bytes", exact_max_bytes}};
    // Written only when set, so that the fingerprints of earlier configs hold.
    if (choice_items != 0) j["choice_items"] = choice_items;
    if (final_choice_items != 0) j["final_choice_items"] = final_choice_items;
    return j;
  }
  static CptEvalConfig from_config(const Config& c) {
    CptEvalConfig e;
    e.windows = c.get<std::size_t>("windows", e.windows);
    e.probe_items = c.get<std::size_t>("probe_items", e.probe_items);
    e.probe_context_bytes = c.get<std::size_t>("probe_context_bytes", e.probe_context_bytes);
    e.probe_answer_bytes = c.get<std::size_t>("probe_answer_bytes", e.probe_answer_bytes);
    e.answer_marker = c.get<std::string>("answer_marker", e.answer_marker);
    e.batch = c.get<std::size_t>("batch", e.batch);
    e.final_windows = c.get<std::size_t>("final_windows", e.final_windows);
    e.final_probe_items = c.get<std::size_t>("final_probe_items", e.final_probe_items);
    e.final_exact_items = c.get<std::size_t>("final_exact_items", e.final_exact_items);
    e.exact_max_bytes = c.get<std::size_t>("exact_max_bytes", e.exact_max_bytes);
    e.choice_items = c.get<std::size_t>("choice_items", e.choice_items);
    e.final_choice_items = c.get<std::size_t>("final_choice_items", e.final_choice_items);
    for (auto [k, v] : {std::pair{"choice_items", e.choice_items}, std::pair{"final_choice_items", e.final_choice_items}})
      if (v != 0 && v < 4) fail(c.source(), ": key '", k, "': expected 0 or >= 4 (four choices per item), got ", v);
    if (e.windows == 0) fail(c.source(), ": key 'windows': expected >= 1");
    if (e.batch == 0) fail(c.source(), ": key 'batch': expected >= 1");
    if (e.probe_answer_bytes == 0) fail(c.source(), ": key 'probe_answer_bytes': expected >= 1");
    return e;
  }
};

// One CPT environment: which domains, which base model, how each stage trains, what is evaluated,
// and the regime (hidden pool limits).
struct CptConfig {
  std::filesystem::path shards;        // folder with space.json (data::ShardSet); empty for in-memory data
  std::vector<std::string> domains;    // the domain space, in order (empty: every domain of the shards)
  BaseModelConfig base{};
  std::size_t stages = 10;
  std::size_t tokens_per_stage = 16384;  // rounded to whole batches of batch x context tokens
  std::size_t batch = 8;
  float peak_lr = 5e-4f;               // re-warmed CPT peak [pilot: 3e-4..5e-4 for this size]
  float start_lr = 0.0f;               // where the re-warm starts
  double warmup_frac = 0.06;           // share of all CPT steps spent re-warming
  float min_ratio = 0.1f;              // cosine (or WSD decay) to this share of the peak at the end of the budget
  // "cosine": re-warm then cosine over the rest [Gupta et al. 2023]; "wsd": re-warm, hold the peak,
  // decay linearly over the last decay_frac of the budget [Hu et al. 2024, MiniCPM; Hägele et al. 2024].
  std::string lr_schedule = "cosine";
  double decay_frac = 0.2;             // "wsd": share of all CPT steps in the decay phase
  model::AdamWConfig adamw{};          // fresh moments at every reset()
  std::size_t threads = 1;             // CPU threads of one environment
  double target_weight = 0.5;          // the user's objective weight, passed to mixers in the spec
  // Hidden pool limits in tokens (= bytes for the byte tokenizer), by domain name; 0 = whole domain.
  std::map<std::string, std::size_t> pool_tokens;
  // When not empty: each instance seed draws one of these as the pool of every target domain
  // (0 = unlimited); overrides pool_tokens for target domains [ours: a hidden, varying pool].
  std::vector<std::size_t> target_pool_choices;
  double max_epochs = std::numeric_limits<double>::infinity();  // sampler repetition cap (Error)
  double memory_budget_mb = 0;         // > 0: refuse a world whose estimated memory exceeds it (model/guard.hpp)
  CptEvalConfig eval{};

  [[nodiscard]] std::size_t steps_per_stage() const noexcept {
    const std::size_t per = batch * base.model.context;
    return per ? std::max<std::size_t>(1, (tokens_per_stage + per / 2) / per) : 0;
  }
  [[nodiscard]] std::size_t total_steps() const noexcept { return stages * steps_per_stage(); }
  [[nodiscard]] std::size_t warmup_steps() const noexcept {
    return std::max<std::size_t>(1, std::size_t(warmup_frac * double(total_steps()) + 0.5));
  }
  // "wsd": steps of the decay phase (at least one, never into the warmup).
  [[nodiscard]] std::size_t decay_steps() const noexcept {
    const std::size_t room = total_steps() > warmup_steps() ? total_steps() - warmup_steps() : 1;
    return std::clamp<std::size_t>(std::size_t(decay_frac * double(total_steps()) + 0.5), 1, room);
  }
  // The first stage (0-based) with a step in the decay phase ("wsd"; stages for "cosine").
  [[nodiscard]] std::size_t decay_start_stage() const noexcept {
    if (lr_schedule != "wsd") return stages;
    const std::size_t per = std::max<std::size_t>(1, steps_per_stage());
    return (total_steps() - decay_steps()) / per;
  }

  [[nodiscard]] Json to_json() const {
    Json pools = Json::object();
    for (const auto& [k, v] : pool_tokens) pools[k] = v;
    Json j{{"shards", shards.string()}, {"domains", domains}, {"base", base.to_json()},
                {"stages", stages}, {"tokens_per_stage", tokens_per_stage}, {"batch", batch},
                {"peak_lr", peak_lr}, {"start_lr", start_lr}, {"warmup_frac", warmup_frac},
                {"min_ratio", min_ratio}, {"adamw", detail::adamw_json(adamw)}, {"threads", threads},
                {"target_weight", target_weight}, {"pool_tokens", pools},
                {"target_pool_choices", target_pool_choices},
                {"max_epochs", std::isinf(max_epochs) ? Json("inf") : Json(max_epochs)},
                {"eval", eval.to_json()}, {"memory_budget_mb", memory_budget_mb}};
    // Written only when not the default, so that the fingerprints of cosine worlds stay as they were.
    if (lr_schedule != "cosine") j["lr_schedule"] = lr_schedule, j["decay_frac"] = decay_frac;
    return j;
  }
  // What changes the trajectories (the world fingerprint hashes this): everything but threads and
  // paths (the data enters through its own fingerprint).
  [[nodiscard]] Json identity() const {
    Json j = to_json();
    j.erase("threads");
    j.erase("shards");
    j.erase("memory_budget_mb");
    j["base"] = base.identity();
    return j;
  }

  static CptConfig from_config(const Config& c) {
    CptConfig k;
    k.shards = c.get<std::string>("shards", "");
    k.domains = c.get<std::vector<std::string>>("domains", {});
    k.base = BaseModelConfig::from_config(c.sub("base"));
    k.stages = c.get<std::size_t>("stages", k.stages);
    k.tokens_per_stage = c.get<std::size_t>("tokens_per_stage", k.tokens_per_stage);
    k.batch = c.get<std::size_t>("batch", k.batch);
    k.peak_lr = c.get<float>("peak_lr", k.peak_lr);
    k.start_lr = c.get<float>("start_lr", k.start_lr);
    k.warmup_frac = c.get<double>("warmup_frac", k.warmup_frac);
    k.min_ratio = c.get<float>("min_ratio", k.min_ratio);
    k.lr_schedule = c.get<std::string>("lr_schedule", k.lr_schedule);
    k.decay_frac = c.get<double>("decay_frac", k.decay_frac);
    if (c.has("adamw")) k.adamw = model::AdamWConfig::from_config(c.sub("adamw"));
    k.threads = c.get<std::size_t>("threads", k.threads);
    k.target_weight = c.get<double>("target_weight", k.target_weight);
    if (c.has("pool_tokens")) {
      const Json& p = c.json()["pool_tokens"];
      if (!p.is_object()) fail(c.source(), ": key 'pool_tokens': expected an object {domain: tokens}");
      for (auto it = p.begin(); it != p.end(); ++it) {
        if (!it.value().is_number_unsigned() && !(it.value().is_number_integer() && it.value().get<long long>() >= 0))
          fail(c.source(), ": key 'pool_tokens.", it.key(), "': expected a non-negative integer");
        k.pool_tokens[it.key()] = it.value().get<std::size_t>();
      }
    }
    k.target_pool_choices = c.get<std::vector<std::size_t>>("target_pool_choices", {});
    if (c.has("max_epochs")) {
      const Json& m = c.json()["max_epochs"];
      k.max_epochs = m.is_string() && m.get<std::string>() == "inf" ? std::numeric_limits<double>::infinity()
                                                                    : c.get<double>("max_epochs", k.max_epochs);
    }
    k.eval = CptEvalConfig::from_config(c.sub("eval"));
    k.memory_budget_mb = c.get<double>("memory_budget_mb", k.memory_budget_mb);
    k.validate(c.source());
    return k;
  }
  static CptConfig from_json(const Json& j, const std::string& source) { return from_config(Config(j, source)); }

  void validate(const std::string& source) const {
    base.validate(source + ":base");
    if (stages == 0) fail(source, ": key 'stages': expected >= 1");
    if (batch == 0) fail(source, ": key 'batch': expected >= 1");
    if (tokens_per_stage < batch * base.model.context)
      fail(source, ": key 'tokens_per_stage': expected at least one batch (", batch * base.model.context,
           " tokens), got ", tokens_per_stage);
    if (!(peak_lr > 0)) fail(source, ": key 'peak_lr': expected > 0, got ", peak_lr);
    if (!(start_lr >= 0)) fail(source, ": key 'start_lr': expected >= 0, got ", start_lr);
    if (!(memory_budget_mb >= 0)) fail(source, ": key 'memory_budget_mb': expected >= 0 (0 = no check), got ", memory_budget_mb);
    if (!(warmup_frac >= 0 && warmup_frac < 1)) fail(source, ": key 'warmup_frac': expected in [0, 1), got ", warmup_frac);
    if (!(min_ratio >= 0 && min_ratio <= 1)) fail(source, ": key 'min_ratio': expected in [0, 1], got ", min_ratio);
    if (lr_schedule != "cosine" && lr_schedule != "wsd")
      fail(source, ": key 'lr_schedule': expected \"cosine\" or \"wsd\", got \"", lr_schedule, "\"");
    if (!(decay_frac > 0 && decay_frac <= 1)) fail(source, ": key 'decay_frac': expected in (0, 1], got ", decay_frac);
    if (threads == 0) fail(source, ": key 'threads': expected >= 1");
    if (!(target_weight >= 0 && target_weight <= 1))
      fail(source, ": key 'target_weight': expected in [0, 1], got ", target_weight);
    if (!(max_epochs > 0)) fail(source, ": key 'max_epochs': expected > 0, got ", max_epochs);
  }
};

}  // namespace dma::env
