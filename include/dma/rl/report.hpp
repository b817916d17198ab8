// dma/rl/report.hpp: LearnReport, what every learner's fit() returns: the learner's name, a
// per-epoch loss curve, wall seconds, what was used, and learner-specific numbers in `extra`.
// The trainer and the examples print it and write it into results.json (to_json()).
// Tested through rl_sft.cpp and rl_cql.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dma/core/config.hpp"

namespace dma::rl {

struct LearnReport {
  std::string learner;
  std::vector<double> curve;     // one loss value per epoch (the learner says which loss)
  double seconds = 0;            // wall time of fit()
  std::size_t trajectories = 0;  // trajectories trained on
  std::size_t updates = 0;       // optimizer steps
  Json extra = Json::object();   // learner-specific (final losses, chosen scales, ...)

  [[nodiscard]] Json to_json() const {
    return Json{{"learner", learner}, {"curve", curve},   {"seconds", seconds},
                {"trajectories", trajectories}, {"updates", updates}, {"extra", extra}};
  }
};

}  // namespace dma::rl
