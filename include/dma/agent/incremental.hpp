// dma/agent/incremental.hpp: IncrementalActor, the agent's policy for deployment, computed
// without the autodiff tape and incrementally over a run: a stage token's features depend only
// on the stages up to it, so each new token is encoded once, its keys and values are appended to
// per-layer caches (causal attention), and only the newest token goes through the blocks and the
// scorer. Exact (same arithmetic as Agent::act up to rounding); a history that is not the cached
// one extended is recomputed from scratch. Used by serve/protocol.hpp (decision latency:
// benchmarks/bench_agent.cpp); equality with Agent::act tested in tests/unit/serve_protocol.cpp.
#pragma once

#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"

namespace dma::agent {

class IncrementalActor {
 public:
  explicit IncrementalActor(std::shared_ptr<const Agent> a) : m_agent(std::move(a)) {
    if (!m_agent) fail("incremental actor: no agent given");
    const auto& net = m_agent->policy();
    m_layers = net.trunk.transformer.blocks.size();
  }

  // The mixture for stage h.t()+1, as Agent::act(h).
  Mixture act(const History& h) {
    try {
      if (!extends_cache(h)) reset_cache(h);
      const Features f = features_from(h, m_tokens);  // rows of the new tokens only
      for (Eigen::Index r = 0; r < f.tokens; ++r) push_token(f, r);
      m_steps = h.t();
      return decide(h);
    } catch (...) {
      clear();  // a half-updated cache must not be reused
      throw;
    }
  }

  void clear() {
    m_tokens = 0;
    m_steps = 0;
    m_spec = EpisodeSpec{};
    m_initial = Feedback{};
  }
  [[nodiscard]] std::size_t cached_tokens() const noexcept { return m_tokens; }

 private:
  using Row = Eigen::Matrix<double, 1, Eigen::Dynamic>;

  const Mat& P(int idx) const { return m_agent->policy_params().value(idx); }
  Mat linear(const Linear& l, const Mat& x) const { return (x * P(l.w)).rowwise() + P(l.b).row(0); }
  static Mat silu(const Mat& x) { return x.cwiseProduct((1.0 / (1.0 + (-x.array()).exp())).matrix()); }
  Mat mlp(const Mlp& m, const Mat& x) const { return linear(m.l2, silu(linear(m.l1, x))); }
  Mat layer_norm(const LayerNorm& ln, const Mat& x) const {
    Mat y(x.rows(), x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const double mean = x.row(r).mean();
      const double var = (x.row(r).array() - mean).square().mean();
      y.row(r) = (x.row(r).array() - mean) / std::sqrt(var + 1e-5);
    }
    return (y.array().rowwise() * P(ln.gamma).row(0).array()).matrix().rowwise() + P(ln.beta).row(0);
  }

  static bool same_feedback(const Feedback& a, const Feedback& b) {
    return a.loss == b.loss && a.score == b.score && a.score_field == b.score_field;
  }
  static bool same_spec(const EpisodeSpec& a, const EpisodeSpec& b) {
    if (a.stages != b.stages || a.target_weight != b.target_weight || a.domains.size() != b.domains.size())
      return false;
    for (std::size_t i = 0; i < a.domains.size(); ++i)
      if (a.domains[i].field != b.domains[i].field || a.domains[i].name != b.domains[i].name) return false;
    return true;
  }
  // The cache holds tokens 0..m_steps of a history with m_steps stages; `h` may add stages.
  // (Earlier stages are assumed unchanged: the server only ever appends.)
  bool extends_cache(const History& h) const {
    return m_tokens > 0 && h.t() >= m_steps && same_spec(h.spec, m_spec) && same_feedback(h.initial, m_initial);
  }
  void reset_cache(const History& h) {
    m_tokens = 0;
    m_steps = 0;
    m_spec = h.spec;
    m_initial = h.initial;
    const Eigen::Index dm = m_agent->config().d_model;
    const auto cap = static_cast<Eigen::Index>(h.spec.stages + 1);
    m_k.assign(m_layers, Mat(std::max<Eigen::Index>(cap, 1), dm));
    m_v = m_k;
    m_n = {0, 0};
    for (const auto& d : h.spec.domains) ++m_n[static_cast<int>(d.field)];
  }
  // Normalised features of tokens first..h.t() (the features of a token depend only on the
  // stages up to it, so slicing the full extraction is exact).
  Features features_from(const History& h, std::size_t first) const {
    Features all = m_agent->features(h);
    Features f;
    f.D = all.D;
    f.field = all.field;
    f.tokens = all.tokens - static_cast<Eigen::Index>(first);
    f.domain = all.domain.bottomRows(f.tokens * f.D);
    f.global = all.global.bottomRows(f.tokens);
    return f;
  }

  // Encodes token r of `f`, runs it through the blocks with the cached keys/values, keeps its
  // domain embeddings (for the scorer) and its context h(t).
  void push_token(const Features& f, Eigen::Index r) {
    const auto& net = m_agent->policy();
    const Eigen::Index D = f.D;
    const Mat E = mlp(net.trunk.encoder, f.domain.middleRows(r * D, D));  // D x d_embed
    const Eigen::Index de = E.cols();
    Mat tok_in = Mat::Zero(1, 2 * de + f.global.cols());
    const int ns = m_n[0], nt = m_n[1];
    for (Eigen::Index i = 0; i < D; ++i) {
      if (f.field[static_cast<std::size_t>(i)] == Field::Target)
        tok_in.block(0, de, 1, de) += E.row(i) / double(nt);
      else
        tok_in.block(0, 0, 1, de) += E.row(i) / double(ns);
    }
    tok_in.rightCols(f.global.cols()) = f.global.row(r);
    Mat x = linear(net.trunk.token_in, tok_in);  // 1 x d_model
    const auto t = static_cast<Eigen::Index>(m_tokens);
    if (t >= m_k[0].rows())  // more stages than the spec said: grow the caches
      for (std::size_t l = 0; l < m_layers; ++l) {
        m_k[l].conservativeResize(2 * (t + 1), Eigen::NoChange);
        m_v[l].conservativeResize(2 * (t + 1), Eigen::NoChange);
      }
    for (std::size_t l = 0; l < m_layers; ++l) {
      const auto& blk = net.trunk.transformer.blocks[l];
      const Eigen::Index dm = blk.attn.d_model, nh = blk.attn.heads, dh = dm / nh;
      const Mat qkv = linear(blk.attn.qkv, layer_norm(blk.ln1, x));  // 1 x 3dm
      m_k[l].row(t) = qkv.block(0, dm, 1, dm);
      m_v[l].row(t) = qkv.block(0, 2 * dm, 1, dm);
      Mat att(1, dm);
      for (Eigen::Index hd = 0; hd < nh; ++hd) {
        const auto q = qkv.block(0, hd * dh, 1, dh);
        Eigen::VectorXd s = (m_k[l].block(0, hd * dh, t + 1, dh) * q.transpose()) / std::sqrt(double(dh));
        s = (s.array() - s.maxCoeff()).exp();
        s /= s.sum();
        att.block(0, hd * dh, 1, dh) = s.transpose() * m_v[l].block(0, hd * dh, t + 1, dh);
      }
      x += linear(blk.attn.proj, att);
      x += mlp(blk.mlp, layer_norm(blk.ln2, x));
    }
    m_H = layer_norm(net.trunk.transformer.ln_f, x);
    m_E = E;
    ++m_tokens;
  }

  Mixture decide(const History& h) const {
    const auto& net = m_agent->policy();
    const Eigen::Index D = m_E.rows();
    const Mat hh = linear(net.score_h, m_H);  // 1 x scorer_hidden
    const Mat he = linear(net.score_e, m_E);  // D x scorer_hidden
    const Mat hid = silu(he.rowwise() + hh.row(0));
    const Mat s = linear(net.score_out, hid);  // D x 1
    std::vector<double> logit(static_cast<std::size_t>(D));
    double mx = -1e300;
    for (Eigen::Index i = 0; i < D; ++i) {
      const int k = static_cast<int>(h.spec.domains[static_cast<std::size_t>(i)].field);
      logit[static_cast<std::size_t>(i)] = s(i, 0) - std::log(double(m_n[k]));
      mx = std::max(mx, logit[static_cast<std::size_t>(i)]);
    }
    Mixture m(static_cast<std::size_t>(D));
    double sum = 0;
    for (std::size_t i = 0; i < m.size(); ++i) sum += (m[i] = std::exp(logit[i] - mx));
    for (double& x : m) x /= sum;
    return m;
  }

  std::shared_ptr<const Agent> m_agent;
  std::size_t m_layers = 0, m_tokens = 0, m_steps = 0;
  EpisodeSpec m_spec;
  Feedback m_initial;
  std::array<int, 2> m_n{0, 0};
  std::vector<Mat> m_k, m_v;  // per layer: keys / values of tokens 0..m_tokens-1
  Mat m_E, m_H;               // the newest token's domain embeddings and context
};

}  // namespace dma::agent
