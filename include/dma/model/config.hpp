// dma/model/config.hpp: the proxy's shape (ModelConfig) and where each parameter tensor sits in
// the one contiguous float buffer that holds them all (ParamLayout). One buffer makes fork, save,
// AdamW and device copies a single memcpy. The layout is the contract with scripts/torch_reference.py.
// Tested in tests/unit/model_train.cpp and through the PyTorch fixture (tests/reference/).
#pragma once

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"

namespace dma::model {

struct ModelConfig {
  std::size_t vocab = 259;      // V: ByteTokenizer's 256 bytes + BOS/EOS/PAD
  std::size_t d_model = 128;    // C
  std::size_t layers = 4;       // L
  std::size_t heads = 4;        // NH
  std::size_t context = 128;    // T (max)
  double mlp_ratio = 8.0 / 3.0; // LLaMA: hidden = ratio * C rounded up to a multiple of 8
  std::size_t mlp_hidden = 0;   // H; 0 = derive from mlp_ratio
  bool tied_embeddings = false; // lm_head shares wte
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;

  [[nodiscard]] std::size_t hidden() const noexcept {
    if (mlp_hidden) return mlp_hidden;
    const auto h = static_cast<std::size_t>(std::ceil(mlp_ratio * double(d_model) - 1e-9));
    return (h + 7) / 8 * 8;
  }
  [[nodiscard]] std::size_t head_size() const noexcept { return d_model / heads; }

  void validate(const std::string& source = "model config") const {
    if (vocab < 2 || vocab > 65536) fail(source, ": field 'vocab': expected 2..65536, got ", vocab);
    // Upper bounds keep a corrupted or hostile config from asking for terabytes.
    if (d_model > 65536) fail(source, ": field 'd_model': expected <= 65536, got ", d_model);
    if (layers > 4096) fail(source, ": field 'layers': expected <= 4096, got ", layers);
    if (context > (1u << 20)) fail(source, ": field 'context': expected <= 1048576, got ", context);
    if (mlp_hidden > (1u << 20)) fail(source, ": field 'mlp_hidden': expected <= 1048576, got ", mlp_hidden);
    if (mlp_hidden == 0 && !(mlp_ratio > 0 && mlp_ratio <= 64))
      fail(source, ": field 'mlp_ratio': expected a value in (0, 64], got ", mlp_ratio);
    if (!(norm_eps > 0) || !std::isfinite(norm_eps)) fail(source, ": field 'norm_eps': expected > 0 and finite, got ", norm_eps);
    if (!(rope_theta > 0) || !std::isfinite(rope_theta))
      fail(source, ": field 'rope_theta': expected > 0 and finite, got ", rope_theta);
    if (d_model == 0 || heads == 0 || d_model % heads != 0)
      fail(source, ": field 'heads': expected a divisor of d_model (", d_model, "), got ", heads);
    if (head_size() % 2 != 0)
      fail(source, ": field 'heads': head size d_model/heads must be even for rotary embeddings, got ",
           head_size());
    if (layers == 0) fail(source, ": field 'layers': expected >= 1");
    if (context == 0) fail(source, ": field 'context': expected >= 1");
    if (hidden() == 0) fail(source, ": field 'mlp_ratio': gives an empty MLP");
  }

  // The JSON keys: mlp_ratio is read but not written (the derived hidden width is, as mlp_hidden).
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("vocab", &ModelConfig::vocab), field("d_model", &ModelConfig::d_model),
                       field("layers", &ModelConfig::layers), field("heads", &ModelConfig::heads),
                       field("context", &ModelConfig::context), field("mlp_ratio", &ModelConfig::mlp_ratio).read_only(),
                       field("mlp_hidden", &ModelConfig::mlp_hidden).written_as([](const ModelConfig& m) { return m.hidden(); }),
                       field("tied_embeddings", &ModelConfig::tied_embeddings), field("norm_eps", &ModelConfig::norm_eps),
                       field("rope_theta", &ModelConfig::rope_theta));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  // Reads the keys above from a Config (missing keys keep their defaults; unknown keys are refused).
  static ModelConfig from_config(const Config& c) { return reflect::from_json<ModelConfig>(c.json(), c.source()); }
  bool operator==(const ModelConfig& o) const {
    return vocab == o.vocab && d_model == o.d_model && layers == o.layers && heads == o.heads &&
           context == o.context && hidden() == o.hidden() && tied_embeddings == o.tied_embeddings &&
           norm_eps == o.norm_eps && rope_theta == o.rope_theta;
  }
};

// One parameter tensor inside the flat buffer. Per-layer tensors are stored layer-major as
// [L, rows, cols] (llm.c style); `decay` marks matrices (AdamW weight decay applies to them only).
struct ParamTensor {
  std::string name;
  std::size_t offset = 0, layers = 1, rows = 0, cols = 0;
  bool decay = false;
  [[nodiscard]] std::size_t size() const noexcept { return layers * rows * cols; }
  [[nodiscard]] std::size_t layer_size() const noexcept { return rows * cols; }
};

// Order (the fixture format depends on it): wte [V,C]; attn_norm [L,C]; wqkv [L,3C,C];
// wo [L,C,C]; mlp_norm [L,C]; w_gate_up [L,2H,C]; w_down [L,C,H]; final_norm [C];
// lm_head [V,C] (absent when tied).
struct ParamLayout {
  ParamTensor wte, attn_norm, wqkv, wo, mlp_norm, w_gate_up, w_down, final_norm, lm_head;
  std::size_t total = 0;

  explicit ParamLayout(const ModelConfig& c) {
    const std::size_t C = c.d_model, L = c.layers, H = c.hidden(), V = c.vocab;
    auto add = [this](ParamTensor& t, std::string name, std::size_t l, std::size_t r, std::size_t k,
                      bool decay) {
      t = ParamTensor{std::move(name), total, l, r, k, decay};
      total += t.size();
    };
    add(wte, "wte", 1, V, C, true);
    add(attn_norm, "attn_norm", L, 1, C, false);
    add(wqkv, "wqkv", L, 3 * C, C, true);
    add(wo, "wo", L, C, C, true);
    add(mlp_norm, "mlp_norm", L, 1, C, false);
    add(w_gate_up, "w_gate_up", L, 2 * H, C, true);
    add(w_down, "w_down", L, C, H, true);
    add(final_norm, "final_norm", 1, 1, C, false);
    if (c.tied_embeddings)
      lm_head = ParamTensor{"lm_head", wte.offset, 1, V, C, true};  // alias, not stored twice
    else
      add(lm_head, "lm_head", 1, V, C, true);
    m_tied = c.tied_embeddings;
  }
  // Calls f(tensor) for the stored tensors in buffer order (a tied lm_head is skipped);
  // allocation-free, for the training step.
  template <class F>
  void for_each(F&& f) const {
    for (const ParamTensor* t : {&wte, &attn_norm, &wqkv, &wo, &mlp_norm, &w_gate_up, &w_down, &final_norm})
      f(*t);
    if (!m_tied) f(lm_head);
  }
  // The stored tensors in buffer order (a tied lm_head is not listed).
  [[nodiscard]] std::vector<const ParamTensor*> tensors() const {
    std::vector<const ParamTensor*> v{&wte, &attn_norm, &wqkv, &wo, &mlp_norm, &w_gate_up, &w_down,
                                      &final_norm};
    if (!m_tied) v.push_back(&lm_head);
    return v;
  }

 private:
  bool m_tied = false;
};

// Model FLOPs of one forward pass over Bn x T tokens (PaLM appendix B convention: 2 * matmul
// params * tokens + 4 * L * C * T * tokens, attention counted as the full square; embedding
// lookups not counted). A training step is 3x this. Every backend's model reports these.
[[nodiscard]] inline double forward_flops(const ModelConfig& cfg, std::size_t Bn, std::size_t T) noexcept {
  const double C = double(cfg.d_model), H = double(cfg.hidden()), L = double(cfg.layers), V = double(cfg.vocab),
               N = double(Bn * T);
  const double matmul_params = L * (4 * C * C + 3 * C * H) + V * C;
  return 2.0 * matmul_params * N + 4.0 * L * C * double(T) * N;
}

}  // namespace dma::model
