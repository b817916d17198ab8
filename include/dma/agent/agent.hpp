// dma/agent/agent.hpp: the Data Mixing Agent network [paper: a small transformer decoder over
// the step history that outputs the next mixture] made independent of the number of domains
// [ours]: each domain is a feature vector encoded by a shared MLP, pooled by field into one
// token per stage; a causal transformer gives h(t); a shared scorer of [h(t), domain embedding]
// gives one logit per domain (policy) and Q(h(t), mixture) scores a mixture (critic). Read by
// the learners (rl/), driven by mixers/agent.hpp; saved as a framed checkpoint (magic,
// version, CRC, config, feature schema). Tests: agent_network.cpp, agent_autodiff.cpp.
// Over 400 lines: the policy, the critic and the checkpoint format read the same parameter layout.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dma/agent/features.hpp"
#include "dma/agent/layers.hpp"
#include "dma/agent/tape.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/reflect.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/space/simplex.hpp"

namespace dma::agent {

// Sizes of the network. Defaults are sized for training in seconds on two CPU cores
// (about 50k parameters in all); the paper's agent has ~2.1M [paper].
struct AgentConfig {
  int d_embed = 24;        // domain embedding width
  int enc_hidden = 32;     // hidden width of the shared domain encoder
  int d_model = 32;        // stage-token width of the transformer
  int heads = 2;           // attention heads (d_model % heads == 0)
  int layers = 2;          // transformer blocks [paper: 2]
  int d_ff = 64;           // MLP width inside each block
  int scorer_hidden = 32;  // hidden width of the per-domain policy scorer
  int q_hidden = 64;       // hidden width of the Q head
  int q_heads = 2;         // independent Q heads on the critic trunk (min is the estimate)
  double sample_concentration = 30.0;  // Dirichlet(c * pi + floor) for stochastic actions
  double sample_floor = 0.05;          // keeps every domain reachable by sampling

  void validate() const {
    auto pos = [](int v, const char* name) {
      if (v <= 0) fail("agent config: field '", name, "' must be positive, got ", v);
    };
    pos(d_embed, "d_embed"), pos(enc_hidden, "enc_hidden"), pos(d_model, "d_model");
    pos(heads, "heads"), pos(layers, "layers"), pos(d_ff, "d_ff");
    pos(scorer_hidden, "scorer_hidden"), pos(q_hidden, "q_hidden"), pos(q_heads, "q_heads");
    if (d_model % heads != 0)
      fail("agent config: field 'd_model' (", d_model, ") must be divisible by 'heads' (", heads, ")");
    if (!(sample_concentration > 0))
      fail("agent config: field 'sample_concentration' must be > 0, got ", sample_concentration);
    if (!(sample_floor >= 0)) fail("agent config: field 'sample_floor' must be >= 0");
  }
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("d_embed", &AgentConfig::d_embed), field("enc_hidden", &AgentConfig::enc_hidden),
                       field("d_model", &AgentConfig::d_model), field("heads", &AgentConfig::heads),
                       field("layers", &AgentConfig::layers), field("d_ff", &AgentConfig::d_ff),
                       field("scorer_hidden", &AgentConfig::scorer_hidden), field("q_hidden", &AgentConfig::q_hidden),
                       field("q_heads", &AgentConfig::q_heads),
                       field("sample_concentration", &AgentConfig::sample_concentration),
                       field("sample_floor", &AgentConfig::sample_floor));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static AgentConfig from_json(const Json& j, const std::string& source = "agent config") {
    return reflect::from_json<AgentConfig>(j, source);
  }
};

// Shared part of both networks: domain encoder, per-field pooling, causal transformer.
struct Trunk {
  Mlp encoder;
  Linear token_in;
  Transformer transformer;

  Trunk() = default;
  Trunk(ParamStore& ps, const std::string& name, const AgentConfig& c, Rng& rng) {
    const auto Fd = static_cast<Eigen::Index>(domain_feature_names().size());
    const auto Fg = static_cast<Eigen::Index>(global_feature_names().size());
    encoder = Mlp(ps, name + ".encoder", Fd, c.enc_hidden, c.d_embed, rng);
    token_in = Linear(ps, name + ".token_in", 2 * c.d_embed + Fg, c.d_model, rng);
    transformer = Transformer(ps, name + ".transformer", c.d_model, c.heads, c.d_ff, c.layers, rng);
  }

  struct Out {
    Var E;  // (tokens*D) x d_embed: per-stage domain embeddings
    Var H;  // tokens x d_model: causal contexts h(t)
  };
  Out operator()(Tape& t, const ParamStore& ps, const Features& f) const {
    const Var E = encoder(t, ps, t.constant(f.domain));
    // Mean over the domains of each field, per token (zero if a field has no domain).
    Mat pool_s = Mat::Zero(f.tokens, f.tokens * f.D), pool_t = pool_s;
    int ns = 0, nt = 0;
    for (auto fl : f.field) (fl == Field::Target ? nt : ns) += 1;
    for (Eigen::Index r = 0; r < f.tokens; ++r)
      for (Eigen::Index i = 0; i < f.D; ++i) {
        if (f.field[static_cast<std::size_t>(i)] == Field::Target)
          pool_t(r, r * f.D + i) = 1.0 / nt;
        else
          pool_s(r, r * f.D + i) = 1.0 / ns;
      }
    const Var tok = token_in(
        t, ps, concat_cols({lmul_const(pool_s, E), lmul_const(pool_t, E), t.constant(f.global)}));
    return {E, transformer(t, ps, tok)};
  }
};

// Constant per-domain data the heads need.
inline Mat field_matrix(const std::vector<Field>& field) {  // D x 2: [is_source, is_target]
  Mat m = Mat::Zero(static_cast<Eigen::Index>(field.size()), 2);
  for (std::size_t i = 0; i < field.size(); ++i)
    m(static_cast<Eigen::Index>(i), field[i] == Field::Target ? 1 : 0) = 1.0;
  return m;
}

struct PolicyNet {
  Trunk trunk;
  Linear score_h, score_e, score_out;

  PolicyNet() = default;
  PolicyNet(ParamStore& ps, const AgentConfig& c, Rng& rng)
      : trunk(ps, "policy", c, rng),
        score_h(ps, "policy.scorer.h", c.d_model, c.scorer_hidden, rng),
        score_e(ps, "policy.scorer.e", c.d_embed, c.scorer_hidden, rng),
        score_out(ps, "policy.scorer.out", c.scorer_hidden, 1, rng, 0.1) {}

  struct Out {
    Var logits;   // tokens x D (with the field-size offset)
    Var mixture;  // tokens x D: softmax of the logits, row t = the mixture for stage t+1
    Var log_mix;  // tokens x D: log of the mixture
  };
  Out operator()(Tape& t, const ParamStore& ps, const Features& f) const {
    const auto tr = trunk(t, ps, f);
    // score_i = w^T silu(W_h h(t) + W_e e(t,i) + b): one shared scorer for every domain.
    const Var hid = silu(add(repeat_rows(score_h(t, ps, tr.H), f.D), score_e(t, ps, tr.E)));
    const Var s = reshape(score_out(t, ps, hid), f.tokens, f.D);
    // Offset -log(n_field(i)): equal scores mean equal field shares and uniform weights inside
    // a field, whatever the domain counts are [ours; keeps the output D-agnostic].
    Mat off(f.tokens, f.D);
    std::array<int, 2> n{0, 0};
    for (auto fl : f.field) ++n[static_cast<int>(fl)];
    for (Eigen::Index i = 0; i < f.D; ++i)
      off.col(i).setConstant(-std::log(double(n[static_cast<int>(f.field[static_cast<std::size_t>(i)])])));
    const Var logits = add(s, t.constant(off));
    return {logits, softmax_rows(logits), log_softmax_rows(logits)};
  }
};

struct CriticNet {
  Trunk trunk;
  std::vector<Mlp> heads;

  CriticNet() = default;
  CriticNet(ParamStore& ps, const AgentConfig& c, Rng& rng) : trunk(ps, "critic", c, rng) {
    for (int k = 0; k < c.q_heads; ++k)
      heads.emplace_back(ps, "critic.q" + std::to_string(k), c.d_model + 2 * c.d_embed + 2,
                         c.q_hidden, 1, rng);
  }

  // Q of `actions` ((tokens*group) x D; rows r*group.. belong to token r) at every token:
  // returns (tokens*group) x q_heads. The mixture enters as its weight-averaged domain
  // embeddings per field and its share per field [ours].
  Var q(Tape& t, const ParamStore& ps, const Trunk::Out& tr, const Features& f, Var actions,
        Eigen::Index group) const {
    const Mat fm = field_matrix(f.field);
    Mat src_mask(actions.rows(), f.D), tgt_mask(actions.rows(), f.D);
    for (Eigen::Index r = 0; r < actions.rows(); ++r) {
      src_mask.row(r) = fm.col(0).transpose();
      tgt_mask.row(r) = fm.col(1).transpose();
    }
    const Var ws = segment_weighted_sum(mul(actions, t.constant(src_mask)), tr.E, group);
    const Var wt = segment_weighted_sum(mul(actions, t.constant(tgt_mask)), tr.E, group);
    const Var shares = matmul(actions, t.constant(fm));
    const Var in = concat_cols({group == 1 ? tr.H : repeat_rows(tr.H, group), ws, wt, shares});
    std::vector<Var> outs;
    for (const auto& h : heads) outs.push_back(h(t, ps, in));
    return outs.size() == 1 ? outs[0] : concat_cols(outs);
  }
};

class Agent {
 public:
  static constexpr std::string_view kMagic = "DMAAGENT";
  static constexpr std::uint32_t kVersion = 1;

  explicit Agent(AgentConfig cfg = {}, std::uint64_t seed = 0) : m_cfg(cfg) {
    m_cfg.validate();
    Rng root(seed);
    Rng rp = root.split("agent.policy"), rc = root.split("agent.critic");
    m_policy = PolicyNet(m_policy_ps, m_cfg, rp);
    m_critic = CriticNet(m_critic_ps, m_cfg, rc);
    m_norm = FeatureNorm::identity();
  }

  // The mixture for stage h.t()+1 (deterministic: the policy's mean).
  [[nodiscard]] Mixture act(const History& h) const {
    const Features f = features(h);
    Tape t;
    const auto out = m_policy(t, m_policy_ps, f);
    return row_mixture(out.mixture.value(), f.tokens - 1);
  }

  // A stochastic mixture around act(h): Dirichlet(c * pi + floor).
  [[nodiscard]] Mixture sample(const History& h, Rng& rng) const {
    return sample_around(act(h), rng);
  }
  [[nodiscard]] Mixture sample_around(const Mixture& m, Rng& rng, double concentration = 0.0) const {
    const double c = concentration > 0 ? concentration : m_cfg.sample_concentration;
    std::vector<double> alpha(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) alpha[i] = c * m[i] + m_cfg.sample_floor;
    return space::dirichlet(alpha, rng);
  }

  // Critic-guided action selection [ours; the sampled-candidate argmax of QT-Opt (Kalashnikov
  // et al. 2018) / EMaQ (Ghasemipour et al. 2021) applied to the actor's neighbourhood]: the
  // policy's mixture act(h) and `candidates` draws of sample_around(act(h)) are scored with
  // min-over-heads Q; the best is taken if it beats act(h) by more than `margin` (RMS-return
  // units of Q), else act(h). Deterministic in (seed, h.t()). candidates = 0 is act(h).
  // `concentration` > 0 replaces sample_concentration for the candidates (larger = closer to act(h)).
  [[nodiscard]] Mixture act_guided(const History& h, int candidates, double margin = 0.0,
                                   std::uint64_t seed = 0, double concentration = 0.0) const {
    if (candidates < 0) fail("agent act_guided: candidates must be >= 0, got ", candidates);
    if (!(concentration >= 0)) fail("agent act_guided: concentration must be >= 0, got ", concentration);
    const Features f = features(h);
    Tape t;
    const auto out = m_policy(t, m_policy_ps, f);
    const Mixture pi = row_mixture(out.mixture.value(), f.tokens - 1);
    if (candidates == 0) return pi;
    Rng rng = Rng(seed).split("agent.act_guided").split(static_cast<std::uint64_t>(h.t()));
    std::vector<Mixture> cand{pi};
    for (int j = 0; j < candidates; ++j) cand.push_back(sample_around(pi, rng, concentration));
    const auto G = static_cast<Eigen::Index>(cand.size());
    const auto tr = m_critic.trunk(t, m_critic_ps, f);
    // Every token gets the same candidates (only the last token's scores are read).
    Mat a(f.tokens * G, f.D);
    for (Eigen::Index r = 0; r < f.tokens; ++r)
      for (Eigen::Index j = 0; j < G; ++j)
        for (Eigen::Index i = 0; i < f.D; ++i)
          a(r * G + j, i) = cand[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)];
    const Mat q = m_critic.q(t, m_critic_ps, tr, f, t.constant(a), G).value();
    const Eigen::Index base = (f.tokens - 1) * G;
    Eigen::Index best = 0;
    double best_q = q.row(base).minCoeff();
    const double q_pi = best_q;
    for (Eigen::Index j = 1; j < G; ++j) {
      const double v = q.row(base + j).minCoeff();
      if (v > best_q) best_q = v, best = j;
    }
    return best_q > q_pi + margin ? cand[static_cast<std::size_t>(best)] : pi;
  }

  // The critic's estimate of the return from here on when `m` is the next stage's mixture
  // (min over Q heads, in reward units).
  [[nodiscard]] double q_value(const History& h, const Mixture& m) const {
    space::validate_mixture(m, h.spec.num_domains(), "agent q_value: mixture");
    const Features f = features(h);
    Tape t;
    const auto tr = m_critic.trunk(t, m_critic_ps, f);
    // Only the last token matters; the others get the same action to keep shapes simple.
    Mat a(f.tokens, f.D);
    for (Eigen::Index r = 0; r < f.tokens; ++r)
      for (Eigen::Index i = 0; i < f.D; ++i) a(r, i) = m[static_cast<std::size_t>(i)];
    const Mat q = m_critic.q(t, m_critic_ps, tr, f, t.constant(a), 1).value();
    return m_q_scale * q.row(f.tokens - 1).minCoeff();
  }

  // Normalised features of a history (what both networks read).
  [[nodiscard]] Features features(const History& h) const {
    Features f = extract_features(h);
    m_norm.apply(f);
    return f;
  }

  // ---- for the learners -------------------------------------------------------------------
  [[nodiscard]] const AgentConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const PolicyNet& policy() const noexcept { return m_policy; }
  [[nodiscard]] const CriticNet& critic() const noexcept { return m_critic; }
  ParamStore& policy_params() noexcept { return m_policy_ps; }
  ParamStore& critic_params() noexcept { return m_critic_ps; }
  [[nodiscard]] const ParamStore& policy_params() const noexcept { return m_policy_ps; }
  [[nodiscard]] const ParamStore& critic_params() const noexcept { return m_critic_ps; }
  [[nodiscard]] const FeatureNorm& feature_norm() const noexcept { return m_norm; }
  void set_feature_norm(FeatureNorm n) { m_norm = std::move(n); }
  [[nodiscard]] bool has_fitted_norm() const noexcept { return m_norm_fitted; }
  void mark_norm_fitted() noexcept { m_norm_fitted = true; }
  // Q is learned in units of reward / q_scale; q_value() multiplies back.
  [[nodiscard]] double q_scale() const noexcept { return m_q_scale; }
  void set_q_scale(double s) {
    if (!(s > 0) || !std::isfinite(s)) fail("agent: q_scale must be positive and finite, got ", s);
    m_q_scale = s;
  }
  [[nodiscard]] std::size_t num_parameters() const {
    return m_policy_ps.num_scalars() + m_critic_ps.num_scalars();
  }

  // ---- checkpoint -------------------------------------------------------------------------
  void save(const std::filesystem::path& path) const {
    io::Writer w;
    w.put_string(m_cfg.to_json().dump());
    w.put<std::uint32_t>(kFeatureVersion);
    put_names(w, domain_feature_names());
    put_names(w, global_feature_names());
    w.put<std::uint8_t>(m_norm_fitted ? 1 : 0);
    for (const Mat* m : {&m_norm.dom_mean, &m_norm.dom_sd, &m_norm.glob_mean, &m_norm.glob_sd})
      put_mat(w, *m);
    w.put<double>(m_q_scale);
    put_store(w, m_policy_ps);
    put_store(w, m_critic_ps);
    io::atomic_write(path, io::frame(kMagic, kVersion, w.bytes()));
  }

  static Agent load(const std::filesystem::path& path) {
    const std::string src = "agent checkpoint " + path.string();
    const std::string bytes = io::read_file(path);
    const std::string_view payload = io::unframe(bytes, kMagic, kVersion, src);
    io::Reader r(payload, src);
    const std::string cfg_text = r.get_string("config");
    Agent a(AgentConfig::from_json(parse_json(cfg_text, src + ": field 'config'"), src + ": config"), 0);
    const auto fv = r.get<std::uint32_t>("feature_version");
    if (fv != kFeatureVersion)
      fail(src, ": field 'feature_version': the agent was trained on feature schema ", fv,
           ", this build computes schema ", kFeatureVersion);
    check_names(r, "domain_features", domain_feature_names(), src);
    check_names(r, "global_features", global_feature_names(), src);
    a.m_norm_fitted = r.get<std::uint8_t>("norm_fitted") != 0;
    FeatureNorm id = FeatureNorm::identity();
    a.m_norm.dom_mean = get_mat(r, "norm.dom_mean", id.dom_mean, src);
    a.m_norm.dom_sd = get_mat(r, "norm.dom_sd", id.dom_sd, src);
    a.m_norm.glob_mean = get_mat(r, "norm.glob_mean", id.glob_mean, src);
    a.m_norm.glob_sd = get_mat(r, "norm.glob_sd", id.glob_sd, src);
    const double q_scale = r.get<double>("q_scale");
    if (!(q_scale > 0) || !std::isfinite(q_scale))
      fail(src, ": field 'q_scale': expected a positive finite value, got ", q_scale);
    a.set_q_scale(q_scale);
    get_store(r, a.m_policy_ps, "policy", src);
    get_store(r, a.m_critic_ps, "critic", src);
    if (r.remaining() != 0) fail(src, ": ", r.remaining(), " unexpected bytes after the parameters");
    return a;
  }

 private:
  static Mixture row_mixture(const Mat& m, Eigen::Index row) {
    Mixture out(static_cast<std::size_t>(m.cols()));
    double s = 0;
    for (Eigen::Index i = 0; i < m.cols(); ++i) s += (out[static_cast<std::size_t>(i)] = m(row, i));
    for (double& x : out) x /= s;  // exact renormalisation against rounding
    return out;
  }
  static void put_names(io::Writer& w, const std::vector<std::string>& names) {
    w.put<std::uint64_t>(names.size());
    for (const auto& n : names) w.put_string(n);
  }
  static void check_names(io::Reader& r, const char* field, const std::vector<std::string>& want,
                          const std::string& src) {
    const auto n = r.get_count(field, 4096);
    std::vector<std::string> got;
    for (std::uint64_t i = 0; i < n; ++i) got.push_back(r.get_string(field));
    if (got != want) {
      std::string g, e;
      for (const auto& s : got) g += s + ",";
      for (const auto& s : want) e += s + ",";
      fail(src, ": field '", field, "': the agent expects features [", g,
           "] but this build computes [", e, "]");
    }
  }
  static void put_mat(io::Writer& w, const Mat& m) {
    w.put<std::uint64_t>(static_cast<std::uint64_t>(m.rows()));
    w.put<std::uint64_t>(static_cast<std::uint64_t>(m.cols()));
    w.put_array(m.data(), static_cast<std::size_t>(m.size()));
  }
  static Mat get_mat(io::Reader& r, const std::string& field, const Mat& shape,
                     const std::string& src) {
    const auto rows = r.get_count(field + ".rows", 1u << 20);
    const auto cols = r.get_count(field + ".cols", 1u << 20);
    if (static_cast<Eigen::Index>(rows) != shape.rows() || static_cast<Eigen::Index>(cols) != shape.cols())
      fail(src, ": field '", field, "': shape ", rows, "x", cols, ", expected ", shape.rows(), "x",
           shape.cols());
    Mat m(shape.rows(), shape.cols());
    r.get_array(m.data(), static_cast<std::size_t>(m.size()), field);
    for (Eigen::Index k = 0; k < m.size(); ++k)
      if (!std::isfinite(m.data()[k])) fail(src, ": field '", field, "': non-finite value");
    return m;
  }
  static void put_store(io::Writer& w, const ParamStore& ps) {
    w.put<std::uint64_t>(ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      w.put_string(ps.name(static_cast<int>(i)));
      put_mat(w, ps.value(static_cast<int>(i)));
    }
  }
  static void get_store(io::Reader& r, ParamStore& ps, const char* which, const std::string& src) {
    const auto n = r.get_count(std::string(which) + ".count", 1u << 16);
    if (n != ps.size())
      fail(src, ": field '", which, ".count': ", n, " parameter tensors, the config implies ", ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const int k = static_cast<int>(i);
      const std::string name = r.get_string(std::string(which) + ".name");
      if (name != ps.name(k))
        fail(src, ": field '", which, "': parameter ", i, " is '", name, "', expected '", ps.name(k), "'");
      ps.value(k) = get_mat(r, name, ps.value(k), src);
    }
  }

  AgentConfig m_cfg;
  ParamStore m_policy_ps, m_critic_ps;
  PolicyNet m_policy;
  CriticNet m_critic;
  FeatureNorm m_norm;
  bool m_norm_fitted = false;
  double m_q_scale = 1.0;
};

}  // namespace dma::agent
