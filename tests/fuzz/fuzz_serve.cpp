// Fuzz target: the agent server's request lines (serve/protocol.hpp, Session::handle). The input
// is split into lines and fed to one session; every reply must be one JSON object, and afterwards
// the session must still serve a well-formed run (reset, hello -> a mixture).
#include <cstdlib>
#include <memory>
#include <string>

#include "dma/serve/protocol.hpp"
#include "fuzz_common.hpp"

namespace dma_fuzz {

inline const std::shared_ptr<const dma::agent::Agent>& serve_agent() {
  static const auto a = std::make_shared<const dma::agent::Agent>(dma::agent::AgentConfig{}, 7);
  return a;
}

inline std::string serve_reply_type(dma::serve::Session& s, std::string_view line) {
  const dma::Json j = dma::Json::parse(s.handle(line), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) std::abort();
  return j["type"].get<std::string>();
}

}  // namespace dma_fuzz

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const auto in = dma_fuzz::view(data, size);
  dma::serve::Limits lim;
  lim.max_line_bytes = 1 << 14;
  dma::serve::Session s(dma_fuzz::serve_agent(), lim);
  std::size_t begin = 0;
  while (begin <= in.size()) {
    const std::size_t end = std::min(in.find('\n', begin), in.size());
    (void)dma_fuzz::serve_reply_type(s, in.substr(begin, end - begin));
    begin = end + 1;
  }
  if (dma_fuzz::serve_reply_type(s, R"({"type":"reset"})") != "ok") std::abort();
  const std::string hello = R"({"type":"hello","domains":[{"name":"a","field":"source"},{"name":"m","field":"target"}],)"
                            R"("loss":[2.0,3.0],"stages":3})";
  if (dma_fuzz::serve_reply_type(s, hello) != "mixture") std::abort();
  return 0;
}
