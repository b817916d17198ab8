// dma/data/tokenizer.hpp: tokenizer policies. ByteTokenizer (the default) maps each UTF-8 byte
// to its value and adds BOS/EOS/PAD specials; shards record the tokenizer id so that a shard
// written with one tokenizer is never read with another. A BPE tokenizer can model the same
// interface (vocab_size, id, encode, decode).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dma/core/types.hpp"

namespace dma::data {

template <class T>
concept Tokenizer = requires(const T t, std::string_view text, const std::vector<Token>& toks) {
  { t.vocab_size() } -> std::convertible_to<std::size_t>;
  { t.id() } -> std::convertible_to<std::string>;
  { t.encode(text) } -> std::same_as<std::vector<Token>>;
  { t.decode(toks) } -> std::same_as<std::string>;
};

struct ByteTokenizer {
  static constexpr Token kBos = 256, kEos = 257, kPad = 258;
  static constexpr std::size_t kVocab = 259;

  [[nodiscard]] std::size_t vocab_size() const noexcept { return kVocab; }
  [[nodiscard]] std::string id() const { return "byte-v1"; }
  [[nodiscard]] std::vector<Token> encode(std::string_view text) const {
    std::vector<Token> out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<unsigned char>(text[i]);
    return out;
  }
  // Specials are dropped on decode.
  [[nodiscard]] std::string decode(const std::vector<Token>& toks) const {
    std::string s;
    s.reserve(toks.size());
    for (Token t : toks)
      if (t < 256) s.push_back(static_cast<char>(t));
    return s;
  }
};
static_assert(Tokenizer<ByteTokenizer>);

}  // namespace dma::data
