// dma/space/two_field.hpp: TwoField, the 2-D domain space "source field vs target field".
// All source domains of a space::Manifest are merged into one domain "source", all target
// domains into one domain "target" (the paper's coarsest space, where only the target share is
// chosen). documents(i) concatenates the members' documents, ids prefixed by the member's name.
// Tested in tests/unit/space_manifest.cpp.
#pragma once

#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/space/manifest.hpp"

namespace dma::space {

class TwoField {
 public:
  explicit TwoField(Manifest m) : m_manifest(std::move(m)) {
    for (std::size_t i = 0; i < m_manifest.size(); ++i)
      m_members[m_manifest.field(i) == Field::Target ? 1 : 0].push_back(i);
    if (m_members[0].empty()) fail("two-field space: the manifest has no source domain");
    if (m_members[1].empty()) fail("two-field space: the manifest has no target domain (add one with with_target)");
  }

  [[nodiscard]] static constexpr std::size_t size() noexcept { return 2; }
  [[nodiscard]] std::string name(std::size_t i) const {
    DMA_ASSERT(i < 2, "two-field space has 2 domains");
    return i == 0 ? "source" : "target";
  }
  [[nodiscard]] Field field(std::size_t i) const {
    DMA_ASSERT(i < 2, "two-field space has 2 domains");
    return i == 0 ? Field::Source : Field::Target;
  }
  // Indices into the manifest of the domains merged into domain i.
  [[nodiscard]] const std::vector<std::size_t>& members(std::size_t i) const { return m_members[i]; }
  [[nodiscard]] const Manifest& manifest() const noexcept { return m_manifest; }

  [[nodiscard]] data::Split documents(std::size_t i) const {
    data::Split out;
    for (std::size_t m : members(i)) {
      auto part = m_manifest.documents(m);
      const std::string prefix = m_manifest.name(m) + "/";
      for (auto& d : part.train) out.train.push_back({prefix + d.id, std::move(d.text)});
      for (auto& d : part.heldout) out.heldout.push_back({prefix + d.id, std::move(d.text)});
    }
    return out;
  }

 private:
  Manifest m_manifest;
  std::vector<std::size_t> m_members[2];
};
static_assert(DomainSpace<TwoField>);

}  // namespace dma::space
