// dma/model/state.hpp: TrainState, everything a training run needs to continue exactly:
// parameters, AdamW moments, the schedule position (optimizer steps taken) and an RNG for the
// caller's data sampling. fork() is an in-memory deep copy (the environment branches many
// continuations from one state); save/load use dma::io::frame (magic, version, CRC-32) and
// atomic writes. Tested in tests/unit/model_state.cpp (corrupt files, bit-identical resume).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "dma/core/buffer.hpp"
#include "dma/core/config.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/model/config.hpp"
#include "dma/model/memory.hpp"

namespace dma::model {

template <class B>
struct TrainState {
  using Floats = typename Memory<B>::Floats;
  static constexpr std::string_view kMagic = "DMAPRXST";
  static constexpr std::uint32_t kVersion = 1;

  ModelConfig config;
  Floats params, m, v;
  std::uint64_t step = 0;  // optimizer steps taken (the LR schedule's position)
  Rng rng;                 // for the caller's data sampling; saved and forked with the rest

  // Fresh state: weights from init_params with seed's "init" stream, zero moments.
  static TrainState create(const ModelConfig& cfg, std::uint64_t seed) {
    cfg.validate();
    TrainState s;
    s.config = cfg;
    const std::size_t n = ParamLayout(cfg).total;
    const Rng root(seed);
    dma::Buffer<float> init(n, false);
    init_params(cfg, init.data(), root.split("init"));
    s.params = Memory<B>::from_host(init.data(), n);
    s.m = Floats(n);
    s.v = Floats(n);
    s.rng = root.split("data");
    return s;
  }

  [[nodiscard]] std::size_t num_params() const noexcept { return params.size(); }

  [[nodiscard]] TrainState fork() const {
    TrainState s;
    s.config = config;
    s.params = params.clone();
    s.m = m.clone();
    s.v = v.clone();
    s.step = step;
    s.rng = rng;
    return s;
  }

  [[nodiscard]] std::string serialize() const {
    io::Writer w;
    w.put_string(config.to_json().dump());
    w.put<std::uint64_t>(step);
    const auto rs = rng.state();
    w.put<std::uint64_t>(rs.state);
    w.put<std::uint64_t>(rs.inc);
    w.put<std::uint64_t>(rs.seed);
    w.put<std::uint64_t>(params.size());
    for (const Floats* f : {&params, &m, &v}) {
      const auto h = Memory<B>::host(*f);  // the buffer itself on the CPU, a copy from a device
      w.put_array(h.data(), h.size());
    }
    return io::frame(kMagic, kVersion, w.bytes());
  }

  static TrainState deserialize(std::string_view bytes, const std::string& source) {
    const std::string_view payload = io::unframe(bytes, kMagic, kVersion, source);
    io::Reader r(payload, source);
    TrainState s;
    const std::string cfg_text = r.get_string("config");
    s.config = ModelConfig::from_config(Config(parse_json(cfg_text, source + ": field 'config'"),
                                               source + ": field 'config'"));
    s.step = r.get<std::uint64_t>("step");
    Rng::State rs{};
    rs.state = r.get<std::uint64_t>("rng.state");
    rs.inc = r.get<std::uint64_t>("rng.inc");
    rs.seed = r.get<std::uint64_t>("rng.seed");
    s.rng.set_state(rs);
    const std::size_t expect = ParamLayout(s.config).total;
    const auto n = r.get_count("num_params", std::uint64_t(1) << 34);
    if (n != expect)
      fail(source, ": field 'num_params': ", n, " does not match the config's ", expect);
    if (r.remaining() / (3 * sizeof(float)) < n)  // before allocating 3n floats
      fail(source, ": field 'params': ", n, " parameters need ", 3 * n * sizeof(float), " bytes, only ",
           r.remaining(), " remain (truncated file?)");
    dma::Buffer<float> host[3] = {dma::Buffer<float>(n, false), dma::Buffer<float>(n, false),
                                  dma::Buffer<float>(n, false)};
    const char* names[3] = {"params", "adam.m", "adam.v"};
    for (int k = 0; k < 3; ++k) r.get_array(host[k].data(), n, names[k]);
    // A NaN/Inf checkpoint would only make every later step skip (model/guard.hpp): refuse it here.
    for (int k = 0; k < 3; ++k)
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(host[k].data()[i]))
          fail(source, ": field '", names[k], "': value ", i, " is ", host[k].data()[i], " (expected finite)");
    if (r.remaining() != 0) fail(source, ": ", r.remaining(), " unexpected bytes after 'adam.v'");
    Floats* dst[3] = {&s.params, &s.m, &s.v};
    for (int k = 0; k < 3; ++k) {
      if constexpr (B::is_device)
        *dst[k] = Memory<B>::from_host(host[k].data(), n);
      else
        *dst[k] = std::move(host[k]);
    }
    return s;
  }

  void save(const std::filesystem::path& path) const { io::atomic_write(path, serialize()); }
  static TrainState load(const std::filesystem::path& path) {
    return deserialize(io::read_file(path), path.string());
  }
};

}  // namespace dma::model
