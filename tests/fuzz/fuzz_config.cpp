// Fuzz target: JSON configs (core/config.hpp) as the proxy (model/config.hpp) and the CPT
// environment (env/cpt_config.hpp) read them, and the command-line override parser.
#include "dma/core/config.hpp"
#include "dma/env/cpt_config.hpp"
#include "dma/model/config.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const auto in = dma_fuzz::view(data, size);
  dma_fuzz::accept_or_refuse([&] {
    const dma::Config c(dma::parse_json(in, "fuzz.json"), "fuzz.json");
    dma_fuzz::accept_or_refuse([&] { (void)dma::model::ModelConfig::from_config(c.sub("model")); });
    dma_fuzz::accept_or_refuse([&] { (void)dma::env::CptConfig::from_config(c); });
    dma_fuzz::accept_or_refuse([&] { (void)c.get<int>("a.b.c", 0), (void)c.get<std::string>("name", ""); });
  });
  // The same bytes as one `--key value` override.
  dma_fuzz::accept_or_refuse([&] {
    std::string key = "--k", value(in);
    char* argv[] = {key.data(), key.data(), value.data()};
    (void)dma::Config::from_args(3, argv);
  });
  return 0;
}
