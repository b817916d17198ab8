// main_job/worlds.hpp: Worlds<B>, how the main job turns a setting into CPT environments: the
// domain space's data (main_job/data.hpp: per-source, 2-D, K-D), the base model a setting starts
// from (main; alt, the unseen source field; large, the unseen model), the env::CptConfig put
// together from the preset, and the hidden target pools a setting's instances draw. Owned by
// Experiment (main_job/experiment.hpp); the headroom diagnostic (examples/headroom.cpp) builds its
// settings with it too. Tested through tests/integration/experiment_tiny.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/env/cpt.hpp"
#include "dma/model/config.hpp"
#include "main_job/data.hpp"
#include "main_job/settings.hpp"

namespace dma::main_job {

template <class B = backend::Cpu>
class Worlds {
 public:
  using CptWorld = env::CptWorld<B>;
  using CptWorldPtr = std::shared_ptr<const CptWorld>;

  Worlds(ExperimentConfig cfg, std::unique_ptr<ExperimentData> data, bool progress)
      : m_cfg(std::move(cfg)), m_data(std::move(data)), m_progress(progress) {
    if (!m_data) fail("experiment: no data provider");
  }

  [[nodiscard]] ExperimentData& data() { return *m_data; }
  [[nodiscard]] model::ModelConfig proxy_model(bool large) const {
    const Json& j = large ? m_cfg.large : m_cfg.proxy;
    return model::ModelConfig::from_config(Config(j, std::string("experiment:") + (large ? "large" : "proxy")));
  }
  [[nodiscard]] std::vector<std::string> base_sources(const std::string& base) const {
    if (base == "alt") return m_cfg.alt_sources;
    std::vector<std::string> s;
    const auto& d = m_data->per_source();
    for (std::size_t i = 0; i < d.size(); ++i)
      if (d.field(i) == Field::Source) s.push_back(d.name(i));
    return s;
  }
  const env::CptData& space_data(const std::string& space) {
    if (space == "2d") return m_data->two_d(m_cfg.two_d_tokens_per_source);
    if (space == "kd") return m_data->kd(m_cfg.kd.k);
    if (space == "kd_unseen") return m_data->kd(m_cfg.kd.k_unseen);
    return m_data->per_source();
  }
  [[nodiscard]] std::vector<std::string> space_domains(const std::string& space, const env::CptData& d,
                                                       const std::string& target) const {
    std::vector<std::string> names;
    if (space == "sources") {
      names = m_cfg.alt_sources;
    } else {
      for (std::size_t i = 0; i < d.size(); ++i)
        if (d.field(i) == Field::Source) names.push_back(d.name(i));
    }
    names.push_back(target);
    return names;
  }
  env::CptConfig cpt_config(const std::string& space, const std::string& base, const std::string& target, double tw,
                            const std::vector<std::size_t>& pools, std::size_t threads) {
    Json c = m_cfg.cpt;
    const auto& d = space_data(space);
    c["domains"] = space_domains(space, d, target);
    Json b = m_cfg.base;
    if (base == "large") b.merge_patch(m_cfg.large_base);
    b["model"] = base == "large" ? m_cfg.large : m_cfg.proxy;
    if (base == "alt") b["sources"] = m_cfg.alt_sources;
    b["cache_dir"] = m_cfg.cache_dir.string();
    b["threads"] = threads;
    c["base"] = b;
    c["target_weight"] = tw;
    c["threads"] = threads;
    c["target_pool_choices"] = pools;
    c.erase("shards");
    return env::CptConfig::from_json(c, "experiment:cpt(" + space + "," + base + ")");
  }
  CptWorldPtr make_world(const std::string& space, const std::string& base, const std::string& target, double tw,
                         const std::vector<std::size_t>& pools, std::size_t threads) {
    const auto cc = cpt_config(space, base, target, tw, pools, threads);
    return CptWorld::create(cc, space_data(space), m_data->per_source(), m_progress);
  }

  // The hidden target pools a setting's instances draw from (empty: the whole target domain).
  [[nodiscard]] std::vector<std::size_t> setting_pools(const SettingDef& s) const {
    if (s.scarce) return m_cfg.collection.scarcity_pools;
    if (m_cfg.target_pool != 0) return {m_cfg.target_pool};
    return {};
  }
  // Seed si of the scarcity setting: the first instance from 7001 + 1000 si whose hidden draw is
  // choices[si mod n], so that the seeds cover the pool sizes.
  static std::uint64_t scarce_instance(const CptWorld& w, const std::vector<std::size_t>& choices, std::size_t si) {
    if (choices.empty()) fail("experiment: the scarcity setting needs collection.scarcity_pools");
    const std::size_t want = choices[si % choices.size()];
    const EpisodeSpec spec = w.spec();
    for (std::uint64_t inst = 7001 + 1000 * std::uint64_t(si); inst < 7001 + 1000 * std::uint64_t(si + 1); ++inst) {
      const auto drawn = w.pools(inst);
      for (std::size_t d = 0; d < spec.num_domains(); ++d)
        if (spec.domains[d].field == Field::Target && drawn[d] == want) return inst;
    }
    fail("experiment: no instance draws the scarcity pool ", want, " (is it in collection.scarcity_pools?)");
  }

 private:
  ExperimentConfig m_cfg;
  std::unique_ptr<ExperimentData> m_data;
  bool m_progress;
};

}  // namespace dma::main_job
