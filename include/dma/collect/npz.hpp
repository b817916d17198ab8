// dma/collect/npz.hpp: export of trajectories to a NumPy .npz archive for Python users.
// Arrays are written with xtensor's npy writer (xt::dump_npy; xtensor 0.24.3 has no .npz
// writer), packed into an uncompressed ZIP (stored entries; what numpy.savez writes), written
// atomically. Shapes, with N trajectories, S = max stages, D = max domains (padding NaN / -1):
//   mixture [N,S,D] f64, loss [N,S+1,D] f64 (row 0 = base model), score [N,S+1,D] f64,
//   reward [N,S] f64, field [N,D] i8 (0 source, 1 target, -1 pad), num_domains [N] i64,
//   num_steps [N] i64, episode_seed [N] u64, id [N] u64, target_weight [N] f64, tokens [N,S+1].
// Tested in tests/unit/collect_npz.cpp (ZIP structure; numpy round trip when python3 has numpy).
#pragma once

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "dma/core/file_io.hpp"
#include "dma/core/types.hpp"

namespace dma::collect {

namespace detail {
// Minimal ZIP writer (PKWARE APPNOTE 6.3: local headers, central directory, end record),
// method 0 (stored), no data descriptors; enough for numpy.load.
class ZipStored {
 public:
  void add(const std::string& name, const std::string& data) {
    const std::uint32_t crc = io::crc32(data.data(), data.size());
    Entry e{name, crc, std::uint32_t(data.size()), std::uint32_t(m_out.size())};
    put32(0x04034b50);
    put16(20); put16(0); put16(0); put16(0); put16(0x21);  // version, flags, stored, time, date
    put32(crc); put32(e.size); put32(e.size);
    put16(std::uint16_t(name.size())); put16(0);
    m_out += name;
    m_out += data;
    m_entries.push_back(e);
  }
  std::string finish() {
    const auto cd_start = std::uint32_t(m_out.size());
    for (const auto& e : m_entries) {
      put32(0x02014b50);
      put16(20); put16(20); put16(0); put16(0); put16(0); put16(0x21);
      put32(e.crc); put32(e.size); put32(e.size);
      put16(std::uint16_t(e.name.size())); put16(0); put16(0); put16(0); put16(0);
      put32(0); put32(e.offset);
      m_out += e.name;
    }
    const auto cd_size = std::uint32_t(m_out.size()) - cd_start;
    put32(0x06054b50);
    put16(0); put16(0);
    put16(std::uint16_t(m_entries.size())); put16(std::uint16_t(m_entries.size()));
    put32(cd_size); put32(cd_start); put16(0);
    return std::move(m_out);
  }

 private:
  struct Entry {
    std::string name;
    std::uint32_t crc, size, offset;
  };
  void put16(std::uint16_t v) { m_out.append(reinterpret_cast<const char*>(&v), 2); }
  void put32(std::uint32_t v) { m_out.append(reinterpret_cast<const char*>(&v), 4); }
  std::string m_out;
  std::vector<Entry> m_entries;
};
}  // namespace detail

inline void export_npz(const std::vector<Trajectory>& trs, const std::filesystem::path& path) {
  const std::size_t N = trs.size();
  std::size_t S = 0, D = 0;
  for (const auto& t : trs) {
    S = std::max(S, t.history.steps.size());
    D = std::max(D, t.history.spec.num_domains());
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  xt::xarray<double> mixture = xt::xarray<double>::from_shape({N, S, D});
  xt::xarray<double> loss = xt::xarray<double>::from_shape({N, S + 1, D});
  xt::xarray<double> score = xt::xarray<double>::from_shape({N, S + 1, D});
  xt::xarray<double> tokens = xt::xarray<double>::from_shape({N, S + 1});
  xt::xarray<double> reward = xt::xarray<double>::from_shape({N, S});
  xt::xarray<std::int8_t> field = xt::xarray<std::int8_t>::from_shape({N, D});
  xt::xarray<std::int64_t> nd = xt::xarray<std::int64_t>::from_shape({N});
  xt::xarray<std::int64_t> ns = xt::xarray<std::int64_t>::from_shape({N});
  xt::xarray<std::uint64_t> seed = xt::xarray<std::uint64_t>::from_shape({N});
  xt::xarray<std::uint64_t> id = xt::xarray<std::uint64_t>::from_shape({N});
  xt::xarray<double> tw = xt::xarray<double>::from_shape({N});
  mixture.fill(nan);
  loss.fill(nan);
  score.fill(nan);
  tokens.fill(nan);
  reward.fill(nan);
  field.fill(-1);
  for (std::size_t n = 0; n < N; ++n) {
    const auto& h = trs[n].history;
    nd(n) = std::int64_t(h.spec.num_domains());
    ns(n) = std::int64_t(h.steps.size());
    seed(n) = trs[n].episode_seed;
    id(n) = trs[n].id;
    tw(n) = h.spec.target_weight;
    for (std::size_t i = 0; i < h.spec.num_domains(); ++i) field(n, i) = std::int8_t(h.spec.domains[i].field);
    auto put_fb = [&](std::size_t row, const Feedback& f) {
      for (std::size_t i = 0; i < f.loss.size() && i < D; ++i) loss(n, row, i) = f.loss[i];
      for (std::size_t k = 0; k < f.score.size() && k < D; ++k) score(n, row, k) = f.score[k];
      tokens(n, row) = f.tokens;
    };
    put_fb(0, h.initial);
    for (std::size_t t = 0; t < h.steps.size(); ++t) {
      for (std::size_t i = 0; i < h.steps[t].mixture.size(); ++i) mixture(n, t, i) = h.steps[t].mixture[i];
      reward(n, t) = h.steps[t].reward;
      put_fb(t + 1, h.steps[t].feedback);
    }
  }
  detail::ZipStored zip;
  zip.add("mixture.npy", xt::dump_npy(mixture));
  zip.add("loss.npy", xt::dump_npy(loss));
  zip.add("score.npy", xt::dump_npy(score));
  zip.add("tokens.npy", xt::dump_npy(tokens));
  zip.add("reward.npy", xt::dump_npy(reward));
  zip.add("field.npy", xt::dump_npy(field));
  zip.add("num_domains.npy", xt::dump_npy(nd));
  zip.add("num_steps.npy", xt::dump_npy(ns));
  zip.add("episode_seed.npy", xt::dump_npy(seed));
  zip.add("id.npy", xt::dump_npy(id));
  zip.add("target_weight.npy", xt::dump_npy(tw));
  io::atomic_write(path, zip.finish());
}

}  // namespace dma::collect
