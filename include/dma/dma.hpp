// dma/dma.hpp: the umbrella header for users. Library headers never include it.
// It pulls in every host-side policy and model of dma; CUDA launches are declared separately.
#pragma once

#include "dma/backend/tags.hpp"
#include "dma/core/buffer.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/space/simplex.hpp"
// Baseline mixers (docs/BASELINES.md).
#include "dma/mixers/dbl.hpp"
#include "dma/mixers/doremi.hpp"
#include "dma/mixers/natural.hpp"
#include "dma/mixers/odm.hpp"
#include "dma/mixers/proxy.hpp"
#include "dma/mixers/ramp.hpp"
#include "dma/mixers/regmix.hpp"
#include "dma/mixers/regression.hpp"
#include "dma/mixers/replay.hpp"
