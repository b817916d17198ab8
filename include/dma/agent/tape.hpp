// dma/agent/tape.hpp: a small reverse-mode automatic differentiation over Eigen matrices.
// The agent network (agent/layers.hpp, agent/agent.hpp) is built from these ops; the learners
// (rl/) call backward() on a scalar loss and read gradients out of a ParamStore. Every op
// writes its own backward rule next to its forward; tests/unit/agent_autodiff.cpp checks each
// rule against central finite differences in double precision.
// Over 400 lines: each op keeps its forward and backward rule side by side, on purpose.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dma/core/error.hpp"

namespace dma::agent {

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Named parameter matrices with their gradients. Modules hold indices into a store, so a
// store (and the module that indexes it) can be copied, e.g. into a target network.
class ParamStore {
 public:
  int add(std::string name, Mat value) {
    m_names.push_back(std::move(name));
    m_grads.push_back(Mat::Zero(value.rows(), value.cols()));
    m_values.push_back(std::move(value));
    return static_cast<int>(m_values.size()) - 1;
  }
  [[nodiscard]] std::size_t size() const noexcept { return m_values.size(); }
  [[nodiscard]] const Mat& value(int i) const { return m_values[static_cast<std::size_t>(i)]; }
  Mat& value(int i) { return m_values[static_cast<std::size_t>(i)]; }
  [[nodiscard]] const Mat& grad(int i) const { return m_grads[static_cast<std::size_t>(i)]; }
  Mat& grad(int i) { return m_grads[static_cast<std::size_t>(i)]; }
  [[nodiscard]] const std::string& name(int i) const { return m_names[static_cast<std::size_t>(i)]; }
  void zero_grad() {
    for (auto& g : m_grads) g.setZero();
  }
  [[nodiscard]] std::size_t num_scalars() const {
    std::size_t n = 0;
    for (const auto& v : m_values) n += static_cast<std::size_t>(v.size());
    return n;
  }
  // Polyak averaging toward another store of the same layout (target networks).
  void soft_update_from(const ParamStore& src, double tau) {
    DMA_ASSERT(src.size() == size(), "soft_update_from: layouts differ");
    for (std::size_t i = 0; i < m_values.size(); ++i)
      m_values[i] = (1.0 - tau) * m_values[i] + tau * src.m_values[i];
  }

 private:
  std::vector<std::string> m_names;
  std::vector<Mat> m_values, m_grads;
};

class Tape;

// A handle to a node on a tape.
struct Var {
  Tape* tape = nullptr;
  int id = -1;
  [[nodiscard]] const Mat& value() const;
  [[nodiscard]] Eigen::Index rows() const { return value().rows(); }
  [[nodiscard]] Eigen::Index cols() const { return value().cols(); }
  [[nodiscard]] double scalar() const { return value()(0, 0); }
};

// The record of one forward computation. Build it, call backward(loss) once, read gradients.
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // Registers a store whose parameters receive gradients on backward(); leaves of stores
  // that are not registered are constants (frozen networks, target networks).
  void train(ParamStore& store) { m_trainable.push_back(&store); }

  Var constant(Mat v) { return push(std::move(v), false, {}); }
  Var param(const ParamStore& store, int idx) {
    ParamStore* owner = nullptr;
    for (auto* s : m_trainable)
      if (s == &store) owner = s;
    // The leaf refers to the store's matrix instead of copying it (the store must outlive
    // the tape and not change while the tape is in use).
    m_nodes.push_back(Node{Mat(), Mat(), owner != nullptr, {}, &store.value(idx)});
    const Var out{this, static_cast<int>(m_nodes.size()) - 1};
    if (owner) m_leaves.push_back({out.id, owner, idx});
    return out;
  }

  // Reverse sweep from a 1x1 node; gradients of trainable parameters are added to their store.
  void backward(Var loss) {
    DMA_ASSERT(loss.tape == this, "backward: loss is on another tape");
    DMA_ASSERT(node(loss.id).value().size() == 1, "backward: loss must be a scalar");
    for (auto& n : m_nodes)
      if (n.needs_grad) n.g = Mat::Zero(n.value().rows(), n.value().cols());
    if (!node(loss.id).needs_grad) return;
    node(loss.id).g(0, 0) = 1.0;
    for (int i = loss.id; i >= 0; --i) {
      auto& n = m_nodes[static_cast<std::size_t>(i)];
      if (n.needs_grad && n.back) n.back();
    }
    for (const auto& l : m_leaves) l.store->grad(l.idx) += node(l.node).g;
  }

  // Op plumbing: inputs' grads are only touched when they need one.
  struct Node {
    Mat v, g;
    bool needs_grad = false;
    std::function<void()> back;
    const Mat* ref = nullptr;  // parameter leaves: the value lives in a ParamStore
    [[nodiscard]] const Mat& value() const { return ref ? *ref : v; }
  };
  Node& node(int id) { return m_nodes[static_cast<std::size_t>(id)]; }
  [[nodiscard]] bool needs(Var a) const { return m_nodes[static_cast<std::size_t>(a.id)].needs_grad; }
  Var push(Mat v, bool needs_grad, std::function<void()> back) {
    m_nodes.push_back(Node{std::move(v), Mat(), needs_grad, std::move(back), nullptr});
    return Var{this, static_cast<int>(m_nodes.size()) - 1};
  }
  [[nodiscard]] std::size_t size() const noexcept { return m_nodes.size(); }

 private:
  struct Leaf {
    int node;
    ParamStore* store;
    int idx;
  };
  std::vector<Node> m_nodes;
  std::vector<Leaf> m_leaves;
  std::vector<ParamStore*> m_trainable;
};

inline const Mat& Var::value() const { return tape->node(id).value(); }

namespace detail {
inline Mat& g(Var a) { return a.tape->node(a.id).g; }
inline const Mat& v(Var a) { return a.tape->node(a.id).value(); }
// Pushes a result whose backward rule is `back(out_grad)`; skipped when no input needs grad.
template <class F>
Var make(Tape& t, Mat value, bool needs, F back) {
  if (!needs) return t.push(std::move(value), false, {});
  const int id = static_cast<int>(t.size());
  return t.push(std::move(value), true, [&t, id, back]() { back(t.node(id).g); });
}
inline bool any(Var a) { return a.tape->needs(a); }
inline bool any(Var a, Var b) { return a.tape->needs(a) || b.tape->needs(b); }
}  // namespace detail

// ---- linear algebra -----------------------------------------------------------------------

inline Var matmul(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(a.cols() == b.rows(), "matmul: inner sizes differ");
  return make(*a.tape, v(a) * v(b), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a).noalias() += go * v(b).transpose();
    if (b.tape->needs(b)) g(b).noalias() += v(a).transpose() * go;
  });
}

// a * b^T (attention scores without materialising a transpose node).
inline Var matmul_nt(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(a.cols() == b.cols(), "matmul_nt: inner sizes differ");
  return make(*a.tape, v(a) * v(b).transpose(), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a).noalias() += go * v(b);
    if (b.tape->needs(b)) g(b).noalias() += go.transpose() * v(a);
  });
}

inline Var add(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(a.rows() == b.rows() && a.cols() == b.cols(), "add: shapes differ");
  return make(*a.tape, v(a) + v(b), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += go;
    if (b.tape->needs(b)) g(b) += go;
  });
}

inline Var sub(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(a.rows() == b.rows() && a.cols() == b.cols(), "sub: shapes differ");
  return make(*a.tape, v(a) - v(b), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += go;
    if (b.tape->needs(b)) g(b) -= go;
  });
}

// Elementwise product.
inline Var mul(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(a.rows() == b.rows() && a.cols() == b.cols(), "mul: shapes differ");
  return make(*a.tape, v(a).cwiseProduct(v(b)), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += go.cwiseProduct(v(b));
    if (b.tape->needs(b)) g(b) += go.cwiseProduct(v(a));
  });
}

inline Var scale(Var a, double s) {
  using namespace detail;
  return make(*a.tape, v(a) * s, any(a), [a, s](const Mat& go) { g(a) += go * s; });
}

inline Var add_scalar(Var a, double s) {
  using namespace detail;
  return make(*a.tape, (v(a).array() + s).matrix(), any(a), [a](const Mat& go) { g(a) += go; });
}

// a (R x C) + b (1 x C) broadcast over rows.
inline Var add_row(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(b.rows() == 1 && b.cols() == a.cols(), "add_row: b must be 1 x cols(a)");
  Mat out = v(a);
  out.rowwise() += v(b).row(0);
  return make(*a.tape, std::move(out), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += go;
    if (b.tape->needs(b)) g(b) += go.colwise().sum();
  });
}

// a (R x C) * b (1 x C) broadcast over rows.
inline Var mul_row(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(b.rows() == 1 && b.cols() == a.cols(), "mul_row: b must be 1 x cols(a)");
  Mat out = v(a).array().rowwise() * v(b).row(0).array();
  return make(*a.tape, std::move(out), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += (go.array().rowwise() * v(b).row(0).array()).matrix();
    if (b.tape->needs(b)) g(b) += go.cwiseProduct(v(a)).colwise().sum();
  });
}

// a (R x C) + b (R x 1) broadcast over columns.
inline Var add_col(Var a, Var b) {
  using namespace detail;
  DMA_ASSERT(b.cols() == 1 && b.rows() == a.rows(), "add_col: b must be rows(a) x 1");
  Mat out = v(a);
  out.colwise() += v(b).col(0);
  return make(*a.tape, std::move(out), any(a, b), [a, b](const Mat& go) {
    if (a.tape->needs(a)) g(a) += go;
    if (b.tape->needs(b)) g(b) += go.rowwise().sum();
  });
}

// ---- shape ----------------------------------------------------------------------------------

inline Var slice_cols(Var a, Eigen::Index start, Eigen::Index n) {
  using namespace detail;
  DMA_ASSERT(start >= 0 && start + n <= a.cols(), "slice_cols: out of range");
  return make(*a.tape, Mat(v(a).middleCols(start, n)), any(a),
              [a, start, n](const Mat& go) { g(a).middleCols(start, n) += go; });
}

inline Var slice_rows(Var a, Eigen::Index start, Eigen::Index n) {
  using namespace detail;
  DMA_ASSERT(start >= 0 && start + n <= a.rows(), "slice_rows: out of range");
  return make(*a.tape, Mat(v(a).middleRows(start, n)), any(a),
              [a, start, n](const Mat& go) { g(a).middleRows(start, n) += go; });
}

inline Var concat_cols(const std::vector<Var>& xs) {
  using namespace detail;
  DMA_ASSERT(!xs.empty(), "concat_cols: nothing to join");
  Eigen::Index cols = 0;
  bool needs = false;
  for (auto x : xs) {
    DMA_ASSERT(x.rows() == xs[0].rows(), "concat_cols: row counts differ");
    cols += x.cols();
    needs = needs || any(x);
  }
  Mat out(xs[0].rows(), cols);
  Eigen::Index c = 0;
  for (auto x : xs) {
    out.middleCols(c, x.cols()) = v(x);
    c += x.cols();
  }
  return make(*xs[0].tape, std::move(out), needs, [xs](const Mat& go) {
    Eigen::Index c0 = 0;
    for (auto x : xs) {
      if (x.tape->needs(x)) g(x) += go.middleCols(c0, x.cols());
      c0 += x.cols();
    }
  });
}

// Each row of a repeated `times` times in place: row r of a becomes rows r*times .. r*times+times-1.
inline Var repeat_rows(Var a, Eigen::Index times) {
  using namespace detail;
  Mat out(a.rows() * times, a.cols());
  for (Eigen::Index r = 0; r < a.rows(); ++r)
    for (Eigen::Index k = 0; k < times; ++k) out.row(r * times + k) = v(a).row(r);
  return make(*a.tape, std::move(out), any(a), [a, times](const Mat& go) {
    for (Eigen::Index r = 0; r < a.rows(); ++r)
      for (Eigen::Index k = 0; k < times; ++k) g(a).row(r) += go.row(r * times + k);
  });
}

// Row-major reshape (the element order is kept).
inline Var reshape(Var a, Eigen::Index rows, Eigen::Index cols) {
  using namespace detail;
  DMA_ASSERT(rows * cols == a.rows() * a.cols(), "reshape: element counts differ");
  Mat out = Eigen::Map<const Mat>(v(a).data(), rows, cols);
  return make(*a.tape, std::move(out), any(a), [a](const Mat& go) {
    g(a) += Eigen::Map<const Mat>(go.data(), a.rows(), a.cols());
  });
}

// out[r] = sum_i w[r, i] * e[(r / group) * D + i]: the mixture-weighted sum of the domain
// embeddings of the token that row r belongs to (D = cols(w); `group` rows share a token).
inline Var segment_weighted_sum(Var w, Var e, Eigen::Index group) {
  using namespace detail;
  const Eigen::Index D = w.cols();
  DMA_ASSERT(group >= 1 && w.rows() % group == 0, "segment_weighted_sum: bad group");
  DMA_ASSERT(e.rows() == (w.rows() / group) * D, "segment_weighted_sum: e must have tokens*D rows");
  Mat out(w.rows(), e.cols());
  for (Eigen::Index r = 0; r < w.rows(); ++r)
    out.row(r) = v(w).row(r) * v(e).middleRows((r / group) * D, D);
  return make(*w.tape, std::move(out), any(w, e), [w, e, group, D](const Mat& go) {
    for (Eigen::Index r = 0; r < w.rows(); ++r) {
      const auto blk = v(e).middleRows((r / group) * D, D);
      if (w.tape->needs(w)) g(w).row(r).noalias() += go.row(r) * blk.transpose();
      if (e.tape->needs(e))
        g(e).middleRows((r / group) * D, D).noalias() += v(w).row(r).transpose() * go.row(r);
    }
  });
}

// ---- pointwise ------------------------------------------------------------------------------

// SiLU (x * sigmoid(x)): smooth, so finite-difference checks need no care at kinks.
inline Var silu(Var a) {
  using namespace detail;
  Mat s = (1.0 / (1.0 + (-v(a).array()).exp())).matrix();
  Mat out = v(a).cwiseProduct(s);
  return make(*a.tape, std::move(out), any(a), [a, s](const Mat& go) {
    const auto x = v(a).array();
    g(a).array() += go.array() * (s.array() * (1.0 + x * (1.0 - s.array())));
  });
}

inline Var tanh(Var a) {
  using namespace detail;
  Mat out = v(a).array().tanh().matrix();
  return make(*a.tape, out, any(a), [a, out](const Mat& go) {
    g(a).array() += go.array() * (1.0 - out.array().square());
  });
}

inline Var sigmoid(Var a) {
  using namespace detail;
  Mat out = (1.0 / (1.0 + (-v(a).array()).exp())).matrix();
  return make(*a.tape, out, any(a), [a, out](const Mat& go) {
    g(a).array() += go.array() * out.array() * (1.0 - out.array());
  });
}

inline Var square(Var a) {
  using namespace detail;
  return make(*a.tape, Mat(v(a).array().square()), any(a),
              [a](const Mat& go) { g(a).array() += 2.0 * go.array() * v(a).array(); });
}

// ---- normalisation and softmax --------------------------------------------------------------

// Each row to zero mean and unit variance (LayerNorm without its affine part; Ba et al. 2016).
inline Var layer_norm_rows(Var a, double eps = 1e-5) {
  using namespace detail;
  const Eigen::Index C = a.cols();
  Mat xhat(a.rows(), C);
  Eigen::VectorXd rstd(a.rows());
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const double mean = v(a).row(r).mean();
    const double var = (v(a).row(r).array() - mean).square().mean();
    rstd(r) = 1.0 / std::sqrt(var + eps);
    xhat.row(r) = (v(a).row(r).array() - mean) * rstd(r);
  }
  return make(*a.tape, xhat, any(a), [a, xhat, rstd, C](const Mat& go) {
    for (Eigen::Index r = 0; r < go.rows(); ++r) {
      const double mg = go.row(r).mean();
      const double mgx = go.row(r).dot(xhat.row(r)) / double(C);
      g(a).row(r).array() += rstd(r) * (go.row(r).array() - mg - xhat.row(r).array() * mgx);
    }
  });
}

// Row softmax; with `causal`, row i only sees columns 0..i (and square input is required).
inline Var softmax_rows(Var a, bool causal = false) {
  using namespace detail;
  DMA_ASSERT(!causal || a.rows() == a.cols(), "softmax_rows: causal mask needs a square input");
  Mat p = Mat::Zero(a.rows(), a.cols());
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Index n = causal ? r + 1 : a.cols();
    const double m = v(a).row(r).head(n).maxCoeff();
    double s = 0;
    for (Eigen::Index c = 0; c < n; ++c) s += (p(r, c) = std::exp(v(a)(r, c) - m));
    p.row(r).head(n) /= s;
  }
  return make(*a.tape, p, any(a), [a, p](const Mat& go) {
    for (Eigen::Index r = 0; r < p.rows(); ++r) {
      const double dot = go.row(r).dot(p.row(r));
      g(a).row(r).array() += p.row(r).array() * (go.row(r).array() - dot);
    }
  });
}

inline Var log_softmax_rows(Var a) {
  using namespace detail;
  Mat out(a.rows(), a.cols());
  Mat p(a.rows(), a.cols());
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const double m = v(a).row(r).maxCoeff();
    const double lse = m + std::log((v(a).row(r).array() - m).exp().sum());
    out.row(r) = v(a).row(r).array() - lse;
    p.row(r) = out.row(r).array().exp();
  }
  return make(*a.tape, std::move(out), any(a), [a, p](const Mat& go) {
    for (Eigen::Index r = 0; r < p.rows(); ++r)
      g(a).row(r) += go.row(r) - p.row(r) * go.row(r).sum();
  });
}

// Log-sum-exp of each row: R x C -> R x 1.
inline Var logsumexp_rows(Var a) {
  using namespace detail;
  Mat out(a.rows(), 1);
  Mat p(a.rows(), a.cols());
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const double m = v(a).row(r).maxCoeff();
    const double s = (v(a).row(r).array() - m).exp().sum();
    out(r, 0) = m + std::log(s);
    p.row(r) = (v(a).row(r).array() - out(r, 0)).exp();
  }
  return make(*a.tape, std::move(out), any(a), [a, p](const Mat& go) {
    for (Eigen::Index r = 0; r < p.rows(); ++r) g(a).row(r) += go(r, 0) * p.row(r);
  });
}

// ---- reductions -----------------------------------------------------------------------------

inline Var sum(Var a) {
  using namespace detail;
  Mat out(1, 1);
  out(0, 0) = v(a).sum();
  return make(*a.tape, std::move(out), any(a), [a](const Mat& go) { g(a).array() += go(0, 0); });
}

inline Var mean(Var a) { return scale(sum(a), 1.0 / double(a.rows() * a.cols())); }

// Sum of a (.) w with a constant weight matrix w (masked / weighted losses).
inline Var weighted_sum(Var a, const Mat& w) {
  using namespace detail;
  DMA_ASSERT(w.rows() == a.rows() && w.cols() == a.cols(), "weighted_sum: shapes differ");
  Mat out(1, 1);
  out(0, 0) = v(a).cwiseProduct(w).sum();
  return make(*a.tape, std::move(out), any(a), [a, w](const Mat& go) { g(a) += go(0, 0) * w; });
}

// Constant-matrix left product (pooling, gathering): m (R x K) * a (K x C).
inline Var lmul_const(const Mat& m, Var a) {
  using namespace detail;
  DMA_ASSERT(m.cols() == a.rows(), "lmul_const: inner sizes differ");
  return make(*a.tape, m * v(a), any(a), [a, m](const Mat& go) {
    g(a).noalias() += m.transpose() * go;
  });
}

// Stops gradients (values of a target quantity).
inline Var detach(Var a) { return a.tape->constant(a.value()); }

}  // namespace dma::agent
