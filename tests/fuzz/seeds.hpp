// tests/fuzz/seeds.hpp: valid inputs for every fuzz target, written by the library itself (so a
// seed always matches the current format). make_seeds.cpp writes them into the corpus folders
// that scripts/fuzz.sh starts from; tests/unit/reliability_fuzz_replay.cpp runs them through the
// targets under g++ as a smoke test. A seed for a framed reader carries the selector byte of
// fuzz_common.hpp in front (even: raw file; odd: payload only).
#pragma once

#include <zlib.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/collect/collector.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/sha256.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/env/sim.hpp"
#include "dma/model/state.hpp"
#include "dma/reward/balanced.hpp"

namespace dma_fuzz {

using Seeds = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;  // target -> (name, bytes)

inline std::string payload_of(const std::string& file, std::string_view magic, std::uint32_t version) {
  return std::string(dma::io::unframe(file, magic, version, "seed"));
}

inline Seeds make_seeds(const std::filesystem::path& scratch_dir) {
  namespace fs = std::filesystem;
  fs::create_directories(scratch_dir);
  Seeds out;
  auto both = [&](const std::string& target, const std::string& name, const std::string& file, std::string_view magic,
                  std::uint32_t version, char raw_tag = '\0', char framed_tag = '\1') {
    out[target].push_back({name + "_raw", std::string(1, raw_tag) + file});
    out[target].push_back({name + "_payload", std::string(1, framed_tag) + payload_of(file, magic, version)});
  };

  {  // proxy checkpoint
    dma::model::ModelConfig c;
    c.d_model = 8;
    c.layers = 1;
    c.heads = 2;
    c.context = 4;
    c.vocab = 16;
    using S = dma::model::TrainState<>;
    both("state", "tiny", S::create(c, 1).serialize(), S::kMagic, S::kVersion);
  }
  {  // trajectory store: header + 2 records, and one record payload alone
    dma::collect::CollectOptions o;
    o.per_instance = 1;
    auto make_env = [](std::uint64_t seed) { return dma::env::SimEnv(dma::env::SimFamily{}, seed, 2); };
    dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> col(make_env, {}, o);
    const auto trs = col.run(dma::collect::Mixed{}, {3});
    const auto p = scratch_dir / "seed.dmat";
    fs::remove(p);
    {
      auto w = dma::collect::StoreWriter::create(p);
      for (const auto& t : trs) w.append(t);
    }
    out["store"].push_back({"store", dma::io::read_file(p)});
    out["store"].push_back({"record", dma::collect::serialize_trajectory(trs.at(0))});
  }
  {  // agent checkpoint (the smallest config)
    dma::agent::AgentConfig c;
    c.d_embed = 2;
    c.enc_hidden = 2;
    c.d_model = 2;
    c.heads = 1;
    c.d_ff = 2;
    c.scorer_hidden = 2;
    c.q_hidden = 2;
    const auto p = scratch_dir / "seed.agent";
    dma::agent::Agent(c, 1).save(p);
    using A = dma::agent::Agent;
    both("agent", "tiny", dma::io::read_file(p), A::kMagic, A::kVersion);
  }
  {  // shards: bit 1 of the selector picks held-out
    const std::vector<dma::data::Document> docs{{"a", "one two"}, {"b", ""}, {"c", "caf\xC3\xA9"}};
    const auto t = scratch_dir / "seed.tok", h = scratch_dir / "seed.docs";
    dma::data::write_train_shard(t, docs, dma::data::ByteTokenizer{});
    dma::data::write_heldout(h, docs);
    both("shard", "train", dma::io::read_file(t), dma::data::kTrainShardMagic, dma::data::kTrainShardVersion, '\0', '\1');
    both("shard", "heldout", dma::io::read_file(h), dma::data::kHeldoutMagic, dma::data::kHeldoutVersion, '\2', '\3');
  }
  out["config"].push_back({"model", R"({"model": {"vocab": 259, "d_model": 32, "heads": 2, "layers": 1, "context": 16,
    "mlp_ratio": 2.5, "norm_eps": 1e-5, "rope_theta": 10000}, "name": "x", "a": {"b": {"c": 3}}})"});
  out["config"].push_back({"cpt", R"({"stages": 4, "tokens_per_stage": 512, "batch": 4, "peak_lr": 0.002,
    "base": {"model": {"d_model": 32, "layers": 1, "heads": 2, "context": 32}, "tokens": 16384, "batch": 4},
    "eval": {"windows": 8, "probe_items": 4}})"});
  out["manifest"].push_back({"corpus", R"({"format": "dma-corpus", "version": 1, "domains": [
    {"name": "a", "field": "source", "bytes": 8, "documents": 2, "sources": [{"package": "p", "version": "1", "kind": "doc"}],
     "files": {"train": {"path": "a.train.jsonl", "bytes": 5, "documents": 1, "sha256": ")" + dma::sha256_hex("hello") + R"("},
               "heldout": {"path": "a.heldout.jsonl", "bytes": 3, "documents": 1, "sha256": ")" + dma::sha256_hex("bye") + R"("}}}],
    "unavailable": [{"name": "b", "reason": "no package"}]})"});
  {  // benchmarks: GSM8K lines (plain) and HumanEval lines (gzip, raw bytes)
    out["jsonl"].push_back({"gsm", std::string(1, '\0') + "{\"question\": \"1+1?\", \"answer\": \"2\\n#### 2\"}\n"
                                                          "{\"question\": \"3*4?\", \"answer\": \"12\\n#### 12\"}\n"});
    const std::string he = "{\"task_id\": \"t/0\", \"prompt\": \"def f():\\n\", \"canonical_solution\": \"  return 1\\n\"}\n";
    out["jsonl"].push_back({"humaneval_plain", std::string(1, '\0') + he});
    out["jsonl"].push_back({"humaneval_gzip_me", std::string(1, '\1') + he});
    const auto gz = scratch_dir / "seed.jsonl.gz";
    gzFile f = gzopen(gz.c_str(), "wb");
    gzwrite(f, he.data(), unsigned(he.size()));
    gzclose(f);
    out["jsonl"].push_back({"humaneval_gz", std::string(1, '\0') + dma::io::read_file(gz)});
  }
  // agent server: a whole session (hello, two feedbacks, reset) and a few bad lines
  out["serve"].push_back({"session",
    "{\"type\":\"hello\",\"domains\":[{\"name\":\"web\",\"field\":\"source\"},{\"name\":\"math\",\"field\":\"target\"}],"
    "\"loss\":[2.1,3.0],\"target_weight\":0.6,\"stages\":4,\"probes\":[{\"name\":\"gsm\",\"field\":\"target\"}],\"scores\":[-2.0]}\n"
    "{\"type\":\"feedback\",\"loss\":[2.2,2.7],\"scores\":[-1.7],\"mixture\":[0.5,0.5]}\n"
    "{\"type\":\"feedback\",\"loss\":[2.25,2.5],\"scores\":[-1.5]}\n{\"type\":\"reset\"}\n"});
  out["serve"].push_back({"bad_lines", "{\"type\":\"feedback\",\"loss\":[1]}\nnot json\n[1,2]\n{\"type\":7}\n"});
  return out;
}

}  // namespace dma_fuzz
