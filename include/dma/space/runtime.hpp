// dma/space/runtime.hpp: a DomainSpace chosen at run time (names and fields from a vector or JSON).
// It sits at the start of the data flow: environments and mixers see it through EpisodeSpec
// (spec() makes one). Tested in tests/unit/space_runtime.cpp (JSON round trip, bad input errors).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"

namespace dma::space {

class RuntimeSpace {
 public:
  RuntimeSpace() = default;
  // Throws dma::Error for an empty space, an empty or repeated name.
  explicit RuntimeSpace(std::vector<DomainInfo> domains, std::string source = "domain space")
      : m_domains(std::move(domains)) {
    if (m_domains.empty()) fail(source, ": a domain space needs at least one domain");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < m_domains.size(); ++i) {
      if (m_domains[i].name.empty()) fail(source, ": domain ", i, " has an empty name");
      if (!seen.insert(m_domains[i].name).second)
        fail(source, ": domain name '", m_domains[i].name, "' appears twice");
    }
  }

  // {"domains": [{"name": "fiction", "field": "source"}, {"name": "math", "field": "target"}]}
  static RuntimeSpace from_json(const Json& j, const std::string& source = "domain space") {
    if (!j.is_object() || !j.contains("domains") || !j["domains"].is_array())
      fail(source, ": expected an object with an array 'domains'");
    std::vector<DomainInfo> ds;
    for (std::size_t i = 0; i < j["domains"].size(); ++i) {
      const Json& d = j["domains"][i];
      if (!d.is_object() || !d.contains("name") || !d["name"].is_string())
        fail(source, ": domains[", i, "].name: expected a string");
      const std::string f = d.value("field", std::string("source"));
      if (f != "source" && f != "target")
        fail(source, ": domains[", i, "].field: expected \"source\" or \"target\", got \"", f, "\"");
      ds.push_back({d["name"].get<std::string>(), f == "target" ? Field::Target : Field::Source});
    }
    return RuntimeSpace(std::move(ds), source);
  }
  static RuntimeSpace from_spec(const EpisodeSpec& s) { return RuntimeSpace(s.domains, "episode spec"); }

  [[nodiscard]] Json to_json() const {
    Json a = Json::array();
    for (const auto& d : m_domains) a.push_back({{"name", d.name}, {"field", to_string(d.field)}});
    return Json{{"domains", a}};
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_domains.size(); }
  [[nodiscard]] std::string name(std::size_t i) const { return m_domains.at(i).name; }
  [[nodiscard]] Field field(std::size_t i) const { return m_domains.at(i).field; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const noexcept { return m_domains; }

  [[nodiscard]] EpisodeSpec spec(std::size_t stages, double target_weight = 0.5) const {
    return EpisodeSpec{m_domains, stages, target_weight};
  }

 private:
  std::vector<DomainInfo> m_domains;
};

static_assert(DomainSpace<RuntimeSpace>);

}  // namespace dma::space
