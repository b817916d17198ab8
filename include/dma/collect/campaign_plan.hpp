// dma/collect/campaign_plan.hpp: CampaignPlan, the deterministic work plan of a collection
// campaign: instance seeds x prefix groups, each group one WorkItem (a prefix tree: k shared
// stages, then `branches` continuations) with a stable id, its own seed and a fixed range of
// trajectory ids. Everything derives from the plan's seed, never from which worker, process or
// MPI rank runs an item, so any partition of the items yields the same trajectories. Read by
// collect/campaign.hpp and collect/mpi.hpp; tested in tests/unit/collect_campaign.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"

namespace dma::collect {

// One unit of work: a prefix group on one environment instance. Its trajectories get the ids
// first_id .. first_id + trajectories - 1 (branch b has id first_id + b).
struct WorkItem {
  std::uint64_t id = 0;
  std::uint64_t instance_seed = 0;
  std::uint64_t seed = 0;  // the Collector's seed for this group (run seed and schedules)
  std::uint64_t first_id = 0;
  std::size_t trajectories = 0;
};

struct CampaignPlan {
  std::uint64_t seed = 1;
  std::vector<std::uint64_t> instances;  // environment instance seeds
  std::size_t groups_per_instance = 1;   // prefix groups (work items) per instance
  std::size_t branches = 4;              // trajectories per group
  std::size_t prefix_stages = 0;         // k shared stages per group (0: independent runs)

  [[nodiscard]] std::size_t items() const noexcept { return instances.size() * groups_per_instance; }
  [[nodiscard]] std::size_t trajectories() const noexcept { return items() * branches; }

  [[nodiscard]] WorkItem item(std::uint64_t id) const {
    DMA_ASSERT(id < items(), "campaign: work item id out of range");
    WorkItem w;
    w.id = id;
    w.instance_seed = instances[id / groups_per_instance];
    // A per-item stream keyed by the item id alone: items are independent of each other.
    w.seed = Rng(seed).split("campaign.item").split(id).next_u64();
    w.first_id = id * branches;
    w.trajectories = branches;
    return w;
  }
  // The work item that produced trajectory `tid`.
  [[nodiscard]] std::uint64_t item_of(std::uint64_t tid) const noexcept { return tid / branches; }

  // The plan as stored in a store's metadata (a resumed run must present the same plan).
  [[nodiscard]] Json to_json() const {
    return Json{{"seed", seed},
                {"instance_seeds", instances},
                {"groups_per_instance", groups_per_instance},
                {"branches", branches},
                {"prefix_stages", prefix_stages}};
  }

  // Reads a plan: either "instance_seeds": [..] or "instances": N with "instance_base" (seeds
  // base .. base + N - 1). Unknown keys are an error (a typo must not silently change a plan).
  static CampaignPlan from_json(const Json& j, const std::string& source = "campaign") {
    if (!j.is_object()) fail(source, ": expected a JSON object");
    CampaignPlan p;
    std::size_t count = 0;
    std::uint64_t base = 1;
    bool has_count = false, has_list = false;
    auto uint = [&](const std::string& k, const Json& v) -> std::uint64_t {
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
        fail(source, ": key '", k, "': expected a non-negative integer, got ", v.dump());
      return v.get<std::uint64_t>();
    };
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      if (k == "seed") p.seed = uint(k, v);
      else if (k == "instances") count = uint(k, v), has_count = true;
      else if (k == "instance_base") base = uint(k, v);
      else if (k == "instance_seeds") {
        if (!v.is_array()) fail(source, ": key 'instance_seeds': expected an array of integers");
        for (const auto& x : v) p.instances.push_back(uint(k, x));
        has_list = true;
      } else if (k == "groups_per_instance") p.groups_per_instance = uint(k, v);
      else if (k == "branches") p.branches = uint(k, v);
      else if (k == "prefix_stages") p.prefix_stages = uint(k, v);
      else fail(source, ": unknown key '", k, "'");
    }
    if (has_count && has_list) fail(source, ": give either 'instances' or 'instance_seeds', not both");
    if (has_count)
      for (std::size_t i = 0; i < count; ++i) p.instances.push_back(base + i);
    p.validate(source);
    return p;
  }

  void validate(const std::string& source = "campaign") const {
    if (instances.empty()) fail(source, ": the plan has no instances ('instances' or 'instance_seeds')");
    if (groups_per_instance < 1) fail(source, ": key 'groups_per_instance': expected >= 1");
    if (branches < 1) fail(source, ": key 'branches': expected >= 1");
    if (branches > (1u << 20) || groups_per_instance > (1u << 20) || instances.size() > (1u << 24))
      fail(source, ": the plan is implausibly large (", instances.size(), " instances x ", groups_per_instance,
           " groups x ", branches, " branches)");
    std::vector<std::uint64_t> sorted = instances;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 1; i < sorted.size(); ++i)
      if (sorted[i] == sorted[i - 1]) fail(source, ": instance seed ", sorted[i], " is listed twice");
  }
};

}  // namespace dma::collect
