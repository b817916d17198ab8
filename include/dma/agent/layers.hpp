// dma/agent/layers.hpp: the layers of the agent network on the autodiff tape (agent/tape.hpp):
// Linear, a two-layer SiLU MLP, affine LayerNorm, and a causal pre-LN transformer (multi-head
// self-attention + MLP blocks; Vaswani et al. 2017, pre-LN as in GPT-2). Layers own parameter
// indices into a ParamStore, so a network can be copied by value (target networks).
// tests/unit/agent_autodiff.cpp checks every layer's gradient by finite differences.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "dma/agent/tape.hpp"
#include "dma/core/rng.hpp"

namespace dma::agent {

// A matrix with N(0, sd^2) entries drawn from the specified generator.
inline Mat random_normal(Eigen::Index rows, Eigen::Index cols, double sd, Rng& rng) {
  Mat m(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = rng.normal(0.0, sd);
  return m;
}

// y = x W + b, W: in x out. Init: N(0, gain^2 / in) (LeCun-style, scaled by `gain`).
struct Linear {
  int w = -1, b = -1;
  Eigen::Index in = 0, out = 0;

  Linear() = default;
  Linear(ParamStore& ps, const std::string& name, Eigen::Index in_dim, Eigen::Index out_dim,
         Rng& rng, double gain = 1.0)
      : in(in_dim), out(out_dim) {
    w = ps.add(name + ".w", random_normal(in_dim, out_dim, gain / std::sqrt(double(in_dim)), rng));
    b = ps.add(name + ".b", Mat::Zero(1, out_dim));
  }
  Var operator()(Tape& t, const ParamStore& ps, Var x) const {
    return add_row(matmul(x, t.param(ps, w)), t.param(ps, b));
  }
};

// in -> hidden -> SiLU -> out.
struct Mlp {
  Linear l1, l2;
  Mlp() = default;
  Mlp(ParamStore& ps, const std::string& name, Eigen::Index in, Eigen::Index hidden,
      Eigen::Index out, Rng& rng, double out_gain = 1.0)
      : l1(ps, name + ".fc1", in, hidden, rng), l2(ps, name + ".fc2", hidden, out, rng, out_gain) {}
  Var operator()(Tape& t, const ParamStore& ps, Var x) const { return l2(t, ps, silu(l1(t, ps, x))); }
};

struct LayerNorm {
  int gamma = -1, beta = -1;
  LayerNorm() = default;
  LayerNorm(ParamStore& ps, const std::string& name, Eigen::Index dim) {
    gamma = ps.add(name + ".gamma", Mat::Ones(1, dim));
    beta = ps.add(name + ".beta", Mat::Zero(1, dim));
  }
  Var operator()(Tape& t, const ParamStore& ps, Var x) const {
    return add_row(mul_row(layer_norm_rows(x), t.param(ps, gamma)), t.param(ps, beta));
  }
};

// Causal multi-head self-attention over the rows of x (one row per stage token).
struct CausalSelfAttention {
  Linear qkv, proj;
  Eigen::Index d_model = 0, heads = 1;
  CausalSelfAttention() = default;
  CausalSelfAttention(ParamStore& ps, const std::string& name, Eigen::Index dm, Eigen::Index nh,
                      Rng& rng, double out_gain)
      : qkv(ps, name + ".qkv", dm, 3 * dm, rng), proj(ps, name + ".proj", dm, dm, rng, out_gain),
        d_model(dm), heads(nh) {}
  Var operator()(Tape& t, const ParamStore& ps, Var x) const {
    const Eigen::Index dh = d_model / heads;
    const Var all = qkv(t, ps, x);
    std::vector<Var> outs;
    for (Eigen::Index h = 0; h < heads; ++h) {
      const Var q = slice_cols(all, h * dh, dh);
      const Var k = slice_cols(all, d_model + h * dh, dh);
      const Var v = slice_cols(all, 2 * d_model + h * dh, dh);
      const Var att = softmax_rows(scale(matmul_nt(q, k), 1.0 / std::sqrt(double(dh))), true);
      outs.push_back(matmul(att, v));
    }
    return proj(t, ps, heads == 1 ? outs[0] : concat_cols(outs));
  }
};

// Pre-LN block: x + attn(LN(x)), then x + mlp(LN(x)).
struct TransformerBlock {
  LayerNorm ln1, ln2;
  CausalSelfAttention attn;
  Mlp mlp;
  TransformerBlock() = default;
  TransformerBlock(ParamStore& ps, const std::string& name, Eigen::Index dm, Eigen::Index nh,
                   Eigen::Index d_ff, Rng& rng, double residual_gain)
      : ln1(ps, name + ".ln1", dm), ln2(ps, name + ".ln2", dm),
        attn(ps, name + ".attn", dm, nh, rng, residual_gain),
        mlp(ps, name + ".mlp", dm, d_ff, dm, rng, residual_gain) {}
  Var operator()(Tape& t, const ParamStore& ps, Var x) const {
    x = add(x, attn(t, ps, ln1(t, ps, x)));
    return add(x, mlp(t, ps, ln2(t, ps, x)));
  }
};

// A stack of blocks and a final LayerNorm: stage tokens (S x d_model) -> contexts h(t).
struct Transformer {
  std::vector<TransformerBlock> blocks;
  LayerNorm ln_f;
  Transformer() = default;
  Transformer(ParamStore& ps, const std::string& name, Eigen::Index dm, Eigen::Index nh,
              Eigen::Index d_ff, int layers, Rng& rng) {
    // GPT-2 scales the residual projections by 1/sqrt(2 * layers) so depth keeps the scale.
    const double gain = 1.0 / std::sqrt(2.0 * double(layers));
    for (int l = 0; l < layers; ++l)
      blocks.emplace_back(ps, name + ".block" + std::to_string(l), dm, nh, d_ff, rng, gain);
    ln_f = LayerNorm(ps, name + ".ln_f", dm);
  }
  Var operator()(Tape& t, const ParamStore& ps, Var x) const {
    for (const auto& b : blocks) x = b(t, ps, x);
    return ln_f(t, ps, x);
  }
};

}  // namespace dma::agent
