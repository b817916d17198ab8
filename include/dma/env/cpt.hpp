// dma/env/cpt.hpp: env::Cpt, continual pre-training of the LLM proxy as a dma::Environment.
// CptWorld is what all runs of one configuration share, read-only: the domain data, the cached
// base model (env/base_model.hpp), the fixed evaluation sets (env/cpt_eval.hpp) and the base
// model's evaluation. Cpt is one run: TrainState (fresh AdamW from the base, LR re-warmed over
// the whole CPT budget) + mixture-sampler state (hidden pool limits, epochs) + step history;
// step(mixture) trains one stage and evaluates; fork() copies the run in memory, save/load
// persist it (framed). Feedback::seconds is nominal (FLOPs / kNominalFlopsPerSecond) so that
// trajectories are byte-reproducible; the measured wall time is in timing(). B = backend::Cuda
// runs the proxy on the GPU (include dma/backend/cuda/host.hpp; tests/parity/env/cuda_env.cpp).
// Tested in tests/unit/env_cpt.cpp (concept, determinism, fork, save/load, invalid mixtures, the hidden
// repeated pool); measured by examples/cpt_demo.cpp and benchmarks/bench_proxy --cpt.
// Over 400 lines: the run (Cpt) and its save/load/fork must change together with its state.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dma/backend/tags.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/data/sampler.hpp"
#include "dma/env/base_model.hpp"
#include "dma/env/cpt_config.hpp"
#include "dma/env/cpt_data.hpp"
#include "dma/env/cpt_eval.hpp"
#include "dma/eval/suite.hpp"
#include "dma/model/guard.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/optim.hpp"
#include "dma/model/schedule.hpp"
#include "dma/model/state.hpp"
#include "dma/space/simplex.hpp"

namespace dma::env {

// Everything the runs of one CptConfig share (immutable once built; safe to share across
// threads, and across processes forked after it was built).
template <class B = backend::Cpu>
class CptWorld {
  static_assert(dma::Backend<B>, "CptWorld<B>: B must be a backend tag");

 public:
  // Opens cfg.shards (and cfg.base.shards when set), loads or pre-trains the base model.
  static std::shared_ptr<const CptWorld> create(const CptConfig& cfg, bool progress = true) {
    if (cfg.shards.empty()) fail("cpt config: key 'shards': expected the folder of a shard set (space.json)");
    const CptData all = CptData::from_shards(cfg.shards);
    if (cfg.base.shards.empty() || cfg.base.shards == cfg.shards) return create(cfg, all, all, progress);
    return create(cfg, all, CptData::from_shards(cfg.base.shards), progress);
  }
  // From data already in memory: `data` holds the CPT domains (cfg.domains selects among them),
  // `base_data` the domains the base model may pre-train on.
  static std::shared_ptr<const CptWorld> create(const CptConfig& cfg, const CptData& data, const CptData& base_data,
                                                bool progress = true) {
    reflect::validate(cfg, "cpt config");
    // Before any allocation or pre-training: the base model, one run's state and its network.
    model::check_memory_budget(model::estimate_train_bytes(cfg.base.model, std::max(cfg.batch, cfg.eval.batch), cfg.threads) +
                                   12.0 * double(model::ParamLayout(cfg.base.model).total),
                               cfg.memory_budget_mb * 1048576.0, "cpt config");
    std::shared_ptr<CptWorld> w(new CptWorld);
    w->m_cfg = cfg;
    w->m_data = data.select(cfg.domains);
    if (w->m_data.size() == 0) fail(data.source, ": the CPT domain space is empty");
    for (const auto& [name, tokens] : cfg.pool_tokens) (void)w->m_data.index(name, "pool_tokens domain");
    const std::size_t T = cfg.base.model.context;
    w->m_base = load_or_pretrain_base<B>(cfg.base, base_data, progress);
    w->m_fast = CptEvalSet::build(w->m_data, cfg.eval, T, cfg.eval.windows, cfg.eval.probe_items, 0,
                                  cfg.eval.choice_items);
    w->m_final = CptEvalSet::build(w->m_data, cfg.eval, T, cfg.eval.final_windows, cfg.eval.final_probe_items,
                                   cfg.eval.final_exact_items, cfg.eval.final_choice_items);
    std::uint64_t h = detail::hash_string(cfg.identity().dump());
    h = detail::hash_string(detail::hex64(w->m_data.fingerprint()), h);
    w->m_fingerprint = detail::hash_string(w->m_base.key, h);
    // The base model's evaluation: the same for every run, so reset() returns it without cost.
    model::Llama<B> net(cfg.base.model, w->eval_max_batch(), cfg.threads);
    const auto t0 = std::chrono::steady_clock::now();
    const CptEvalResult r = w->m_fast.evaluate(net, w->m_base.state.params.data());
    w->m_base_eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    w->m_base_fb = to_feedback(r);
    return w;
  }

  [[nodiscard]] const CptConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const CptData& data() const noexcept { return m_data; }
  [[nodiscard]] const BaseModel<B>& base() const noexcept { return m_base; }
  [[nodiscard]] const CptEvalSet& fast_set() const noexcept { return m_fast; }
  [[nodiscard]] const CptEvalSet& final_set() const noexcept { return m_final; }
  [[nodiscard]] const Feedback& base_feedback() const noexcept { return m_base_fb; }
  [[nodiscard]] double base_eval_seconds() const noexcept { return m_base_eval_seconds; }
  // Identifies config + data + base model: a saved run loads only into the same world.
  [[nodiscard]] std::uint64_t fingerprint() const noexcept { return m_fingerprint; }
  [[nodiscard]] std::size_t eval_max_batch() const noexcept { return std::max(m_cfg.batch, m_cfg.eval.batch); }

  [[nodiscard]] EpisodeSpec spec() const { return EpisodeSpec{m_data.domains, m_cfg.stages, m_cfg.target_weight}; }

  // The hidden pool limit (tokens, 0 = whole domain) of every domain for one instance.
  [[nodiscard]] std::vector<std::size_t> pools(std::uint64_t instance_seed) const {
    std::vector<std::size_t> p(m_data.size(), 0);
    for (const auto& [name, tokens] : m_cfg.pool_tokens) p[m_data.index(name)] = tokens;
    if (!m_cfg.target_pool_choices.empty()) {
      Rng r = Rng(instance_seed).split("cpt.target_pool");
      const std::size_t pick = r.below(std::uint32_t(m_cfg.target_pool_choices.size()));
      for (std::size_t d = 0; d < m_data.size(); ++d)
        if (m_data.field(d) == Field::Target) p[d] = m_cfg.target_pool_choices[pick];
    }
    return p;
  }

  // The LR schedule of every run: re-warm to the peak over warmup_frac of the whole CPT budget,
  // then cosine to min_ratio [Gupta et al. 2023; pilot defaults in ENVIRONMENT_NOTES.md], or with
  // lr_schedule "wsd" hold the peak and decay over the last decay_frac [Hu et al. 2024, MiniCPM].
  [[nodiscard]] model::LrSchedule schedule() const {
    if (m_cfg.lr_schedule == "wsd")
      return model::LrSchedule::rewarm_wsd(m_cfg.start_lr, m_cfg.peak_lr, m_cfg.warmup_steps(), m_cfg.decay_steps(),
                                           m_cfg.total_steps(), m_cfg.min_ratio);
    return model::LrSchedule::rewarm(m_cfg.start_lr, m_cfg.peak_lr, m_cfg.warmup_steps(), m_cfg.total_steps(),
                                     m_cfg.min_ratio);
  }

  static Feedback to_feedback(const CptEvalResult& r) {
    Feedback f;
    f.loss = r.bpb;
    f.score = r.score;
    f.score_field = r.score_field;
    f.score_name = r.score_name;
    return f;
  }

 private:
  CptWorld() = default;
  CptConfig m_cfg;
  CptData m_data;
  BaseModel<B> m_base;
  CptEvalSet m_fast, m_final;
  Feedback m_base_fb;
  double m_base_eval_seconds = 0;
  std::uint64_t m_fingerprint = 0;
};

// Feedback::seconds of env::Cpt is a NOMINAL cost, the run's model FLOPs (training + evaluation)
// at this fixed rate, so that the same seed gives byte-identical trajectories and stores on any
// machine and load [ours: about one core of the 2-core dev machine training the 0.8M proxy,
// ~25-38 GFLOP/s measured; a unit, not a claim]. Measured wall time lives in CptTiming.
inline constexpr double kNominalFlopsPerSecond = 25e9;

// Wall-clock split of a run (not part of Feedback: it is not deterministic).
struct CptTiming {
  double train_seconds = 0, eval_seconds = 0;            // since reset()
  double last_train_seconds = 0, last_eval_seconds = 0;  // the last stage
  double eval_tokens = 0;                                // tokens run forward for evaluation since reset()
  double final_eval_seconds = 0;                         // the last final_eval() (not saved)
};

template <class B = backend::Cpu>
class Cpt {
 public:
  static constexpr std::string_view kMagic = "DMACPTEN";
  static constexpr std::uint32_t kVersion = 1;  // bump when the saved layout changes
  using World = CptWorld<B>;

  Cpt() = default;
  // A run of `world`; `instance_seed` draws the instance's hidden regime (target pool choice).
  // Starts at the base model (reset(0) is implied).
  explicit Cpt(std::shared_ptr<const World> world, std::uint64_t instance_seed = 0)
      : m_world(std::move(world)), m_instance_seed(instance_seed) {
    if (!m_world) fail("env::Cpt: no world given");
    m_pools = m_world->pools(instance_seed);
    reset(0);
  }
  Cpt(Cpt&&) noexcept = default;
  Cpt& operator=(Cpt&&) noexcept = default;

  [[nodiscard]] EpisodeSpec spec() const { return world().spec(); }
  [[nodiscard]] const World& world() const {
    if (!m_world) fail("env::Cpt: this environment has no world (default-constructed)");
    return *m_world;
  }
  [[nodiscard]] std::uint64_t instance_seed() const noexcept { return m_instance_seed; }
  [[nodiscard]] std::uint64_t run_seed() const noexcept { return m_run_seed; }
  [[nodiscard]] std::size_t stage() const noexcept { return m_t; }
  [[nodiscard]] double tokens_seen() const noexcept { return m_tokens; }
  [[nodiscard]] const Feedback& initial() const { return world().base_feedback(); }
  [[nodiscard]] const std::vector<Step>& steps() const noexcept { return m_steps; }
  [[nodiscard]] const CptTiming& timing() const noexcept { return m_timing; }
  // Optimizer steps skipped for a non-finite loss/gradient since reset() (model/guard.hpp).
  [[nodiscard]] std::size_t skipped_steps() const noexcept { return m_guard.skipped(); }
  [[nodiscard]] const model::TrainState<B>& state() const noexcept { return m_state; }
  // Diagnostics of the hidden regime; never reported in Feedback or the spec.
  [[nodiscard]] std::size_t pool_tokens(std::size_t d) const { return sampler().pool_tokens(d); }
  [[nodiscard]] double epochs(std::size_t d) const { return sampler().epochs(d); }
  [[nodiscard]] std::uint64_t domain_tokens(std::size_t d) const { return sampler().tokens(d); }

  // A fresh run from the base model: fresh AdamW moments, schedule at step 0, data order from
  // `seed`. Returns the base model's evaluation (computed once per world).
  Feedback reset(std::uint64_t seed) {
    const World& w = world();
    const auto& base = w.base().state;
    m_run_seed = seed;
    m_state.config = base.config;
    m_state.params = base.params.clone();
    m_state.m = typename model::TrainState<B>::Floats(base.params.size());
    m_state.v = typename model::TrainState<B>::Floats(base.params.size());
    m_state.step = 0;
    m_state.rng = Rng(seed).split("cpt.run");
    data::SamplerConfig sc;
    sc.batch = w.config().batch;
    sc.context = base.config.context;
    sc.pool_limit = m_pools;
    sc.max_epochs = w.config().max_epochs;
    m_sampler.emplace(w.data().train, sc, Rng(seed).split("cpt.data").next_u64(), names());
    m_t = 0;
    m_tokens = m_flops = m_seconds = 0;
    m_timing = {};
    m_guard = model::StepGuard{};
    m_steps.clear();
    return w.base_feedback();
  }

  // Trains one stage of tokens_per_stage tokens drawn by `mixture`, then evaluates.
  Feedback step(const Mixture& mixture) {
    train(mixture);
    const World& w = world();
    const auto t1 = std::chrono::steady_clock::now();
    const CptEvalResult r = w.fast_set().evaluate(net(), m_state.params.data());
    const double ev = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    m_flops += r.flops;
    m_seconds = m_flops / kNominalFlopsPerSecond;
    m_timing.eval_seconds += ev;
    m_timing.last_eval_seconds = ev;
    m_timing.eval_tokens += r.tokens;
    Feedback f = World::to_feedback(r);
    f.tokens = m_tokens;
    f.flops = m_flops;
    f.seconds = m_seconds;
    model::require_finite(f, "env::Cpt: stage " + std::to_string(m_t) + " feedback");  // never into a trajectory
    m_steps.push_back(Step{mixture, f, 0.0});
    return f;
  }

  // Trains one stage without the per-stage evaluation and without entering the step history: for
  // open-loop schedules scored only at the end (trainer/headroom.hpp). Such a run cannot be saved.
  void train(const Mixture& mixture) {
    const World& w = world();
    const auto& cfg = w.config();
    space::validate_mixture(mixture, w.data().size(), "env::Cpt: mixture for stage " + std::to_string(m_t + 1));
    if (m_t >= cfg.stages) fail("env::Cpt: step ", m_t + 1, " is beyond the run's ", cfg.stages, " stages");
    auto& net = this->net();
    auto& smp = *m_sampler;
    const std::size_t Bn = cfg.batch, T = m_state.config.context, steps = cfg.steps_per_stage();
    const auto sched = w.schedule();
    const auto t0 = std::chrono::steady_clock::now();
    smp.set_weights(mixture);
    const std::string where = "env::Cpt: stage " + std::to_string(m_t + 1);
    std::vector<Token> rows(smp.batch_tokens()), in(Bn * T), tg(Bn * T);
    for (std::size_t s = 0; s < steps; ++s) {
      smp.next_batch(rows);
      for (std::size_t b = 0; b < Bn; ++b)
        for (std::size_t t = 0; t < T; ++t) {
          in[b * T + t] = rows[b * (T + 1) + t];
          tg[b * T + t] = rows[b * (T + 1) + t + 1];
        }
      const model::MicroBatch mb{in.data(), tg.data(), Bn, T};
      const auto st = model::train_step(net, m_state, sched, cfg.adamw, std::span(&mb, 1));
      m_guard.record(st.skipped, st.loss, st.grad_norm, where);
    }
    ++m_t;
    m_tokens += double(steps * Bn * T);
    m_flops += net.train_flops(Bn, T) * double(steps);
    m_seconds = m_flops / kNominalFlopsPerSecond;
    const double tr = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m_timing.train_seconds += tr;
    m_timing.last_train_seconds = tr;
  }

  // The expensive evaluation, once at the end: final_windows per domain, final_probe_items per
  // probe, exact match by greedy decoding. Its cost is included in the returned flops/seconds
  // but not added to the run's counters (it is not a stage).
  Feedback final_eval() {
    const auto t0 = std::chrono::steady_clock::now();
    const CptEvalResult r = world().final_set().evaluate(net(), m_state.params.data());
    Feedback f = World::to_feedback(r);
    f.tokens = m_tokens;
    f.flops = m_flops + r.flops;
    f.seconds = f.flops / kNominalFlopsPerSecond;  // nominal (deterministic); wall time below
    m_timing.final_eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return f;
  }
  // Any benchmark suite (eval/suite.hpp) on the current model, e.g. the full math suite.
  eval::SuiteReport evaluate_suite(const eval::Suite& suite) {
    model::Scorer<B> scorer(net(), m_state.params.data());
    return suite.evaluate(scorer);
  }

  // A branch: the same run continued independently (parameters, moments, sampler, history are
  // copied; the compute buffers are not, each branch makes its own on first use).
  [[nodiscard]] Cpt fork() const {
    Cpt c;
    c.m_world = m_world;
    c.m_instance_seed = m_instance_seed;
    c.m_run_seed = m_run_seed;
    c.m_pools = m_pools;
    c.m_state = m_state.fork();
    c.m_sampler = m_sampler;
    c.m_t = m_t;
    c.m_tokens = m_tokens;
    c.m_flops = m_flops;
    c.m_seconds = m_seconds;
    c.m_timing = m_timing;
    c.m_guard = m_guard;
    c.m_steps = m_steps;
    return c;
  }

  void save(const std::filesystem::path& path) const {
    const World& w = world();
    if (m_steps.size() != m_t)
      fail("env::Cpt: save ", path.string(), ": stages trained by train() have no history to save");
    io::Writer o;
    o.put<std::uint64_t>(w.fingerprint());
    o.put<std::uint64_t>(m_instance_seed);
    o.put<std::uint64_t>(m_run_seed);
    o.put<std::uint64_t>(m_t);
    for (double v : {m_tokens, m_flops, m_seconds, m_timing.train_seconds, m_timing.eval_seconds,
                     m_timing.last_train_seconds, m_timing.last_eval_seconds, m_timing.eval_tokens})
      o.put(v);
    o.put_string(m_state.serialize());
    o.put_string(sampler().state_bytes());
    o.put<std::uint64_t>(m_steps.size());
    for (const Step& s : m_steps) {
      o.put_array(s.mixture.data(), s.mixture.size());
      o.put_array(s.feedback.loss.data(), s.feedback.loss.size());
      o.put_array(s.feedback.score.data(), s.feedback.score.size());
      for (double v : {s.feedback.tokens, s.feedback.flops, s.feedback.seconds, s.reward}) o.put(v);
    }
    io::atomic_write(path, io::frame(kMagic, kVersion, o.bytes()));
  }

  // Restores a run saved by save() from an environment of the same world.
  void load(const std::filesystem::path& path) {
    const World& w = world();
    const std::string src = path.string();
    const std::string bytes = io::read_file(path);
    io::Reader r(io::unframe(bytes, kMagic, kVersion, src), src);
    const auto fp = r.get<std::uint64_t>("world fingerprint");
    if (fp != w.fingerprint())
      fail(src, ": field 'world fingerprint': saved by an environment with another config, data or base model (",
           detail::hex64(fp), " vs ", detail::hex64(w.fingerprint()), ")");
    Cpt c;
    c.m_world = m_world;
    c.m_instance_seed = r.get<std::uint64_t>("instance seed");
    const auto run_seed = r.get<std::uint64_t>("run seed");
    const auto t = r.get<std::uint64_t>("stage");
    if (t > w.config().stages) fail(src, ": field 'stage': ", t, " exceeds the run's ", w.config().stages, " stages");
    double v[8];
    for (double& x : v) x = r.get<double>("cost and timing");
    c.m_pools = w.pools(c.m_instance_seed);
    c.reset(run_seed);  // builds the sampler over this world's data; its state is restored below
    c.m_t = t;
    c.m_tokens = v[0];
    c.m_flops = v[1];
    c.m_seconds = v[2];
    c.m_timing = CptTiming{v[3], v[4], v[5], v[6], v[7]};
    c.m_state = model::TrainState<B>::deserialize(r.get_string("train state", 1u << 31), src + ": train state");
    if (!(c.m_state.config == w.config().base.model))
      fail(src, ": field 'train state': the model shape differs from the world's base model");
    c.m_sampler->restore(r.get_string("sampler state", 1u << 24), src + ": sampler state");
    const std::size_t D = w.data().size(), S = w.base_feedback().score.size();
    const auto n = r.get_count("steps", w.config().stages);
    if (n != t) fail(src, ": field 'steps': ", n, " recorded steps for stage ", t);
    for (std::size_t i = 0; i < n; ++i) {
      Step s;
      s.mixture.resize(D);
      r.get_array(s.mixture.data(), D, "mixture");
      s.feedback = w.base_feedback();
      r.get_array(s.feedback.loss.data(), D, "loss");
      r.get_array(s.feedback.score.data(), S, "score");
      s.feedback.tokens = r.get<double>("feedback tokens");
      s.feedback.flops = r.get<double>("feedback flops");
      s.feedback.seconds = r.get<double>("feedback seconds");
      s.reward = r.get<double>("reward");
      c.m_steps.push_back(std::move(s));
    }
    if (r.remaining() != 0) fail(src, ": ", r.remaining(), " unexpected bytes after the step history");
    c.m_net = std::move(m_net);  // the compute buffers fit any run of this world
    *this = std::move(c);
  }

 private:
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& d : world().data().domains) n.push_back(d.name);
    return n;
  }
  [[nodiscard]] const data::MixtureSampler& sampler() const {
    if (!m_sampler) fail("env::Cpt: this environment has no run (default-constructed)");
    return *m_sampler;
  }
  model::Llama<B>& net() {
    if (!m_net) {
      const World& w = world();
      m_net = std::make_unique<model::Llama<B>>(w.config().base.model, w.eval_max_batch(), w.config().threads);
    }
    return *m_net;
  }

  std::shared_ptr<const World> m_world;
  std::uint64_t m_instance_seed = 0, m_run_seed = 0;
  std::vector<std::size_t> m_pools;
  model::TrainState<B> m_state;
  std::optional<data::MixtureSampler> m_sampler;
  std::size_t m_t = 0;
  double m_tokens = 0, m_flops = 0, m_seconds = 0;
  CptTiming m_timing;
  model::StepGuard m_guard;
  std::vector<Step> m_steps;
  std::unique_ptr<model::Llama<B>> m_net;  // compute buffers, made on first use (not forked)
};

static_assert(Environment<Cpt<backend::Cpu>>);

}  // namespace dma::env
