// Bad input for every reader, table-driven: per reader a valid file written by the
// library, then mutations (truncated, bit-flipped, wrong version, oversized counts, NaN/Inf
// values, wrong dimensions). Each mutation must raise dma::Error whose message names the file and
// the field; never a crash, a hang or undefined behaviour (scripts/sanitize.sh runs this file
// under ASan/UBSan). Each test prints its case count ("reliability: READER: N bad-input cases").
#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"
#include <zlib.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/collect/collector.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/config.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/sha256.hpp"
#include "dma/data/benchmarks.hpp"
#include "dma/data/manifest.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/env/sim.hpp"
#include "dma/model/config.hpp"
#include "dma/model/state.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/space/manifest.hpp"
#include "env_cpt_fixture.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_reliability_readers {

namespace fs = std::filesystem;

namespace {

using dma::test::TempDir;

void write(const fs::path& p, const std::string& bytes) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

template <class T>
void put_at(std::string& s, std::size_t off, T v) {
  REQUIRE(off + sizeof(T) <= s.size());
  std::memcpy(s.data() + off, &v, sizeof(T));
}

// One bad input: how to make it from the valid bytes, and the words its error must contain
// (besides the file name, which every error must contain).
struct Case {
  std::string name;
  std::function<std::string(const std::string&)> make;
  std::vector<std::string> expect;
};

// Writes each case to `path`, loads it, checks the error. Returns the number of cases.
std::size_t run_cases(const std::string& reader, const fs::path& path, const std::string& valid,
                      const std::function<void(const fs::path&)>& load, const std::vector<Case>& cases,
                      const std::string& names_file = "") {
  write(path, valid);
  REQUIRE_NOTHROW(load(path));  // the valid file is accepted
  const std::string file = names_file.empty() ? path.filename().string() : names_file;
  for (const Case& c : cases) {
    INFO(reader << ": case '" << c.name << "'");
    write(path, c.make(valid));
    std::string msg = "no error";
    try {
      load(path);
    } catch (const dma::Error& e) {
      msg = e.what();
    }
    INFO("message: " << msg);
    CHECK(msg != "no error");
    CHECK(msg.find(file) != std::string::npos);
    for (const auto& w : c.expect) CHECK(msg.find(w) != std::string::npos);
  }
  std::printf("reliability: %s: %zu bad-input cases\n", reader.c_str(), cases.size());
  return cases.size();
}

// The framing every binary dma file shares (io::frame): magic, u32 version, u64 length,
// payload, CRC-32. These nine cases apply to each framed reader.
std::vector<Case> framed_cases(std::size_t magic_len) {
  const std::size_t len_at = magic_len + 4, payload_at = magic_len + 12;
  return {
      {"empty file", [](const std::string&) { return std::string(); }, {"magic"}},
      {"truncated to half", [](const std::string& v) { return v.substr(0, v.size() / 2); }, {"payload length"}},
      {"last byte missing", [](const std::string& v) { return v.substr(0, v.size() - 1); }, {"payload length"}},
      {"one byte appended", [](const std::string& v) { return v + "x"; }, {"payload length"}},
      {"bad magic", [](const std::string& v) { std::string s = v; s[0] ^= 0x20; return s; }, {"magic"}},
      {"wrong version", [=](const std::string& v) { std::string s = v; put_at<std::uint32_t>(s, magic_len, 99); return s; },
       {"version 99"}},
      {"payload length 2^64-4 (wraps)",
       [=](const std::string& v) { std::string s = v; put_at<std::uint64_t>(s, len_at, ~std::uint64_t(3)); return s; },
       {"payload length"}},
      {"bit flip in payload",
       [=](const std::string& v) { std::string s = v; s[payload_at + (s.size() - payload_at - 4) / 2] ^= 0x10; return s; },
       {"checksum"}},
      {"bit flip in checksum", [](const std::string& v) { std::string s = v; s[s.size() - 1] ^= 1; return s; }, {"checksum"}},
  };
}

// A case whose payload is rewritten and re-framed with a valid checksum (tests the field checks).
Case reframed(std::string name, std::string_view magic, std::uint32_t version,
              std::function<std::string(std::string)> edit, std::vector<std::string> expect) {
  return {std::move(name),
          [magic, version, edit](const std::string& v) {
            const std::string payload(dma::io::unframe(v, magic, version, "valid"));
            return dma::io::frame(magic, version, edit(payload));
          },
          std::move(expect)};
}

dma::model::ModelConfig tiny_model() {
  dma::model::ModelConfig c;
  c.d_model = 16;
  c.layers = 1;
  c.heads = 2;
  c.context = 8;
  return c;
}

}  // namespace

TEST_CASE("reliability: config files reject bad JSON and bad values naming the file and the key", "[core][cpu]") {
  TempDir dir("config");
  const fs::path p = dir.path / "run.json";
  const std::string valid = R"({"model": {"d_model": 32, "heads": 2, "layers": 1, "context": 16}, "steps": 10})";
  auto load = [](const fs::path& f) {
    const auto c = dma::Config::from_file(f);
    (void)c.require<int>("steps");
    (void)dma::model::ModelConfig::from_config(c.sub("model"));
  };
  auto replace = [](std::string from, std::string to) {
    return [from, to](const std::string& v) {
      std::string s = v;
      s.replace(s.find(from), from.size(), to);
      return s;
    };
  };
  const std::vector<Case> cases{
      {"empty file", [](const std::string&) { return std::string(); }, {"invalid JSON"}},
      {"truncated", [](const std::string& v) { return v.substr(0, v.size() - 3); }, {"invalid JSON"}},
      {"bit flip (brace)", replace("{\"d_model", "[\"d_model"), {"invalid JSON"}},
      {"top level is an array", [](const std::string&) { return std::string("[1, 2]"); }, {"JSON object"}},
      {"missing required key", replace("\"steps\"", "\"stepz\""), {"'steps'"}},
      {"wrong type", replace("\"steps\": 10", "\"steps\": \"ten\""), {"'steps'"}},
      {"heads not dividing d_model", replace("\"heads\": 2", "\"heads\": 3"), {"'heads'"}},
      {"oversized d_model", replace("\"d_model\": 32", "\"d_model\": 4000000000"), {"'d_model'"}},
      {"negative layers (wraps to 2^64-1)", replace("\"layers\": 1", "\"layers\": -1"), {"'layers'"}},
      {"zero context", replace("\"context\": 16", "\"context\": 0"), {"'context'"}},
      {"huge mlp_ratio", replace("\"layers\": 1", "\"layers\": 1, \"mlp_ratio\": 1e300"), {"'mlp_ratio'"}},
      {"zero norm_eps", replace("\"layers\": 1", "\"layers\": 1, \"norm_eps\": 0"), {"'norm_eps'"}},
      {"negative rope_theta", replace("\"layers\": 1", "\"layers\": 1, \"rope_theta\": -1"), {"'rope_theta'"}},
  };
  run_cases("config (core/config.hpp + model/config.hpp)", p, valid, load, cases);
}

TEST_CASE("reliability: corpus manifests reject bad fields and files, sha256 verified on request", "[data][cpu]") {
  TempDir dir("manifest");
  write(dir.path / "a.train.jsonl", "{\"id\":\"1\",\"text\":\"hello\"}\n");
  write(dir.path / "a.heldout.jsonl", "{\"id\":\"2\",\"text\":\"bye\"}\n");
  auto file_json = [&](const char* name) {
    const std::string bytes = dma::io::read_file(dir.path / name);
    return dma::Json{{"path", name}, {"bytes", bytes.size()}, {"documents", 1}, {"sha256", dma::sha256_hex(bytes)}};
  };
  dma::Json j{{"format", "dma-corpus"},
              {"version", 1},
              {"domains",
               {{{"name", "a"},
                 {"field", "source"},
                 {"bytes", 8},
                 {"documents", 2},
                 {"files", {{"train", file_json("a.train.jsonl")}, {"heldout", file_json("a.heldout.jsonl")}}}}}}};
  const std::string valid = j.dump();
  const fs::path p = dir.path / "manifest.json";
  auto load = [](const fs::path& f) { (void)dma::space::Manifest::load(f, /*verify_sha256=*/true); };
  auto edit = [j](std::function<void(dma::Json&)> fn) {
    return [j, fn](const std::string&) {
      dma::Json k = j;
      fn(k);
      return k.dump();
    };
  };
  const std::vector<Case> cases{
      {"truncated", [](const std::string& v) { return v.substr(0, v.size() / 2); }, {"invalid JSON"}},
      {"wrong format", edit([](dma::Json& k) { k["format"] = "other"; }), {"'format'"}},
      {"wrong version", edit([](dma::Json& k) { k["version"] = 2; }), {"'version'"}},
      {"domains not an array", edit([](dma::Json& k) { k["domains"] = 3; }), {"'domains'"}},
      {"domain name missing", edit([](dma::Json& k) { k["domains"][0].erase("name"); }), {"domains[0]", ".name"}},
      {"duplicate domain", edit([](dma::Json& k) { k["domains"].push_back(k["domains"][0]); }), {"domains[1]", "twice"}},
      {"bad field", edit([](dma::Json& k) { k["domains"][0]["field"] = "both"; }), {".field"}},
      {"negative bytes", edit([](dma::Json& k) { k["domains"][0]["bytes"] = -5; }), {".bytes"}},
      {"documents do not add up", edit([](dma::Json& k) { k["domains"][0]["documents"] = 7; }), {".documents"}},
      {"sha256 too short", edit([](dma::Json& k) { k["domains"][0]["files"]["train"]["sha256"] = "abc"; }),
       {"train.sha256"}},
      {"file missing", edit([](dma::Json& k) { k["domains"][0]["files"]["train"]["path"] = "nope.jsonl"; }),
       {"'a'", "missing"}},
      {"file size differs", edit([](dma::Json& k) { k["domains"][0]["files"]["heldout"]["bytes"] = 3; }),
       {"'a'", "bytes but the manifest says 3"}},
      {"file content differs (sha256)",
       edit([](dma::Json& k) { k["domains"][0]["files"]["train"]["sha256"] = std::string(64, '0'); }),
       {"'sha256'", "a.train.jsonl"}},
  };
  run_cases("corpus manifest (data/manifest.hpp, space/manifest.hpp)", p, valid, load, cases);
}

TEST_CASE("reliability: train shards and held-out files reject every mutation naming the field", "[data][cpu]") {
  using dma::data::ByteTokenizer;
  TempDir dir("shard");
  const std::vector<dma::data::Document> docs{{"a", "one two three"}, {"b", "four"}, {"c", "five six"}};
  dma::data::write_train_shard(dir.path / "valid.tok", docs, ByteTokenizer{});
  const std::string valid = dma::io::read_file(dir.path / "valid.tok");
  const auto magic = dma::data::kTrainShardMagic;
  const auto ver = dma::data::kTrainShardVersion;
  auto cases = framed_cases(magic.size());
  // payload: tokenizer id (u32 + text), u32 vocab, u64 documents, u64 tokens, u32 pad, pad, tokens
  const std::size_t id_len = ByteTokenizer{}.id().size();
  const std::size_t vocab_at = 4 + id_len, docs_at = vocab_at + 4, ntok_at = docs_at + 8;
  cases.push_back(reframed("foreign tokenizer id", magic, ver, [](std::string p) { p[4] ^= 1; return p; }, {"'tokenizer id'"}));
  cases.push_back(reframed("wrong vocab size", magic, ver, [=](std::string p) { put_at<std::uint32_t>(p, vocab_at, 7); return p; },
                           {"'vocab size'"}));
  cases.push_back(reframed("oversized token count", magic, ver,
                           [=](std::string p) { put_at<std::uint64_t>(p, ntok_at, std::uint64_t(1) << 62); return p; },
                           {"'tokens'"}));
  cases.push_back(reframed("document count disagrees with EOS", magic, ver,
                           [=](std::string p) { put_at<std::uint64_t>(p, docs_at, 9); return p; }, {"'documents'"}));
  cases.push_back(reframed("token outside the vocabulary", magic, ver,
                           [](std::string p) { put_at<dma::Token>(p, p.size() - 4, 60000); return p; }, {"outside the vocabulary"}));
  std::size_t n = run_cases("train shard (data/shard.hpp)", dir.path / "t.tok", valid,
                            [](const fs::path& f) { (void)dma::data::TrainShard::open(f, ByteTokenizer{}); }, cases);

  dma::data::write_heldout(dir.path / "valid.docs", docs);
  const std::string hvalid = dma::io::read_file(dir.path / "valid.docs");
  const auto hm = dma::data::kHeldoutMagic;
  const auto hv = dma::data::kHeldoutVersion;
  auto hcases = framed_cases(hm.size());
  hcases.push_back(reframed("oversized document count", hm, hv,
                            [](std::string p) { put_at<std::uint64_t>(p, 0, std::uint64_t(1) << 60); return p; }, {"'documents'"}));
  hcases.push_back(reframed("offsets not increasing", hm, hv,
                            [](std::string p) { put_at<std::uint64_t>(p, 16, 1000); return p; }, {"'offsets'"}));
  hcases.push_back(reframed("offsets beyond the data", hm, hv,
                            [](std::string p) { put_at<std::uint64_t>(p, 8 + 3 * 8, 999); return p; }, {"'offsets'"}));
  n += run_cases("held-out docs (data/shard.hpp)", dir.path / "h.docs", hvalid,
                 [](const fs::path& f) { (void)dma::data::HeldoutDocs::open(f); }, hcases);
  CHECK(n == 14 + 12);
}

TEST_CASE("reliability: proxy checkpoints (TrainState) reject mutations, NaN values and wrong shapes", "[model][cpu]") {
  using dma::model::TrainState;
  TempDir dir("state");
  const auto s = TrainState<>::create(tiny_model(), 5);
  const std::string valid = s.serialize();
  const auto magic = TrainState<>::kMagic;
  const auto ver = TrainState<>::kVersion;
  auto with = [&](std::function<void(TrainState<>&)> fn) {
    return [&s, fn](const std::string&) {
      auto t = s.fork();
      fn(t);
      return t.serialize();
    };
  };
  const std::size_t cfg_len = s.config.to_json().dump().size();
  const std::size_t num_at = 4 + cfg_len + 8 + 24;
  auto cases = framed_cases(magic.size());
  cases.push_back({"NaN parameter", with([](auto& t) { t.params.data()[3] = NAN; }), {"'params'"}});
  cases.push_back({"Inf Adam moment", with([](auto& t) { t.v.data()[0] = INFINITY; }), {"'adam.v'"}});
  cases.push_back({"config heads wrong", with([](auto& t) { t.config.heads = 3; }), {"'heads'"}});
  cases.push_back({"wrong dimensions (config d_model 32, 16-wide tensors)", with([](auto& t) { t.config.d_model = 32; }),
                   {"'num_params'"}});
  cases.push_back(reframed("oversized num_params", magic, ver,
                           [=](std::string p) { put_at<std::uint64_t>(p, num_at, std::uint64_t(1) << 40); return p; },
                           {"'num_params'"}));
  cases.push_back(reframed("config is not JSON", magic, ver, [](std::string p) { p[4] = '#'; return p; }, {"'config'"}));
  cases.push_back(reframed("config length past the end", magic, ver,
                           [](std::string p) { put_at<std::uint32_t>(p, 0, 0x7fffffff); return p; }, {"'config'"}));
  cases.push_back(reframed("payload cut inside adam.v", magic, ver, [](std::string p) { return p.substr(0, p.size() - 6); },
                           {"'params'"}));
  cases.push_back(reframed("trailing bytes", magic, ver, [](std::string p) { return p + "zz"; }, {"unexpected bytes"}));
  run_cases("proxy checkpoint (model/state.hpp)", dir.path / "ckpt.bin", valid,
            [](const fs::path& f) { (void)TrainState<>::load(f); }, cases);
}

TEST_CASE("reliability: trajectory stores reject damaged headers and records, NaN and wrong shapes", "[collect][cpu]") {
  namespace col = dma::collect;
  TempDir dir("store");
  dma::collect::CollectOptions o;
  o.per_instance = 1;
  auto make_env = [](std::uint64_t seed) { return dma::env::SimEnv(dma::env::SimFamily{}, seed, 3); };
  col::Collector<dma::env::SimEnv, dma::reward::Balanced> c(make_env, {}, o);
  const auto trs = c.run(col::Mixed{}, {10, 11});
  REQUIRE(trs.size() == 2);
  {
    auto w = col::StoreWriter::create(dir.path / "valid.dmat");
    for (const auto& t : trs) w.append(t);
  }
  const std::string valid = dma::io::read_file(dir.path / "valid.dmat");
  const std::size_t hdr_len = [&] {
    std::uint64_t n;
    std::memcpy(&n, valid.data() + 12, 8);
    return std::size_t(20 + n + 4);
  }();
  // A store whose second record is `tr` (serialized as is, with a valid checksum).
  auto with_record = [&](std::function<void(dma::Trajectory&)> fn) {
    return [&, fn](const std::string&) {
      dma::Trajectory t = trs[1];
      fn(t);
      const std::string payload = col::serialize_trajectory(t);
      const std::string first = valid.substr(0, valid.size() - (12 + col::serialize_trajectory(trs[1]).size() + 4));
      dma::io::Writer w;
      w.bytes() = first + "TREC";
      w.put<std::uint64_t>(payload.size());
      w.bytes() += payload;
      w.put<std::uint32_t>(dma::io::crc32(payload.data(), payload.size()));
      return w.bytes();
    };
  };
  // Overwrites a u64 of record 1's payload at `off` and fixes its checksum.
  auto patch_record = [&](std::size_t off, std::uint64_t v) {
    return [&trs, off, v](const std::string& s) {
      std::string b = s;
      const std::string p0 = dma::collect::serialize_trajectory(trs[1]);
      const std::size_t rec = s.size() - (12 + p0.size() + 4);
      std::string payload = b.substr(rec + 12, p0.size());
      put_at<std::uint64_t>(payload, off, v);
      b.replace(rec + 12, p0.size(), payload);
      put_at<std::uint32_t>(b, b.size() - 4, dma::io::crc32(payload.data(), payload.size()));
      return b;
    };
  };
  const std::size_t d_at = 16 + 4 + trs[1].generator.size();
  std::vector<Case> cases{
      {"empty file", [](const std::string&) { return std::string(); }, {"magic"}},
      {"bad magic", [](const std::string& v) { std::string s = v; s[1] = 'X'; return s; }, {"magic"}},
      {"wrong version", [](const std::string& v) { std::string s = v; put_at<std::uint32_t>(s, 8, 7); return s; }, {"version 7"}},
      {"header length oversized", [](const std::string& v) { std::string s = v; put_at<std::uint64_t>(s, 12, ~std::uint64_t(0)); return s; },
       {"header length"}},
      {"bit flip in the header schema", [&](const std::string& v) { std::string s = v; s[hdr_len / 2] ^= 4; return s; }, {"checksum"}},
      {"truncated inside the last record", [](const std::string& v) { return v.substr(0, v.size() - 9); }, {"record 1", "truncated"}},
      {"truncated inside a record header", [&](const std::string& v) { return v.substr(0, v.size() - (v.size() - hdr_len) / 2 + 5); },
       {"record"}},
      {"bit flip in record 0", [&](const std::string& v) { std::string s = v; s[hdr_len + 40] ^= 8; return s; }, {"record 0", "checksum"}},
      {"bad record marker", [&](const std::string& v) { std::string s = v; s[hdr_len] = 'X'; return s; }, {"record 0", "marker"}},
      {"record length 2^64-1", [&](const std::string& v) { std::string s = v; put_at<std::uint64_t>(s, hdr_len + 4, ~std::uint64_t(0)); return s; },
       {"record 0", "truncated"}},
      {"oversized domain count", patch_record(d_at, std::uint64_t(1) << 40), {"record 1", "'domain count'"}},
      {"NaN in a mixture", with_record([](auto& t) { t.history.steps[0].mixture[1] = NAN; }), {"record 1", "'mixture'"}},
      {"negative mixture weight", with_record([](auto& t) { t.history.steps[0].mixture[1] = -0.5; }), {"'mixture'"}},
      {"mixture of the wrong dimension", with_record([](auto& t) { t.history.steps[1].mixture.push_back(0.0); }),
       {"'mixture size'"}},
      {"Inf loss", with_record([](auto& t) { t.history.steps[0].feedback.loss[0] = INFINITY; }), {"'loss'"}},
      {"NaN score", with_record([](auto& t) { t.history.initial.score[0] = NAN; }), {"'score'"}},
      {"NaN reward", with_record([](auto& t) { t.history.steps[2].reward = NAN; }), {"'reward'"}},
      {"bad domain field", with_record([](auto& t) { t.history.spec.domains[0].field = dma::Field(7); }), {"'domain field'"}},
  };
  run_cases("trajectory store (collect/store.hpp)", dir.path / "t.dmat", valid,
            [](const fs::path& f) { (void)col::read_store(f); }, cases);
}

TEST_CASE("reliability: agent checkpoints reject mutations, NaN weights and wrong shapes", "[agent][cpu]") {
  namespace ag = dma::agent;
  TempDir dir("agent");
  ag::AgentConfig cfg;
  cfg.d_embed = 6;
  cfg.enc_hidden = 7;
  cfg.d_model = 8;
  cfg.heads = 2;
  cfg.d_ff = 10;
  cfg.scorer_hidden = 5;
  cfg.q_hidden = 6;
  ag::Agent(cfg, 3).save(dir.path / "valid.agent");
  const std::string valid = dma::io::read_file(dir.path / "valid.agent");
  const auto magic = ag::Agent::kMagic;
  const auto ver = ag::Agent::kVersion;
  const std::size_t cfg_len = cfg.to_json().dump().size();
  auto with_cfg = [&](std::function<void(dma::Json&)> fn) {
    return [=](std::string p) {
      dma::Json j = dma::Json::parse(p.substr(4, cfg_len));
      fn(j);
      const std::string t = j.dump();
      dma::io::Writer w;
      w.put_string(t);
      return w.bytes() + p.substr(4 + cfg_len);
    };
  };
  auto cases = framed_cases(magic.size());
  cases.push_back(reframed("feature schema version", magic, ver,
                           [=](std::string p) { put_at<std::uint32_t>(p, 4 + cfg_len, 999); return p; }, {"'feature_version'"}));
  cases.push_back(reframed("feature name count oversized", magic, ver,
                           [=](std::string p) { put_at<std::uint64_t>(p, 8 + cfg_len, std::uint64_t(1) << 50); return p; },
                           {"'domain_features'"}));
  cases.push_back(reframed("NaN in the last weight", magic, ver,
                           [](std::string p) { put_at<double>(p, p.size() - 8, NAN); return p; }, {"non-finite"}));
  cases.push_back(reframed("wrong dimensions (config d_model 12, 8-wide weights)", magic, ver,
                           with_cfg([](dma::Json& j) { j["d_model"] = 12; }), {"shape"}));
  cases.push_back(reframed("config is not JSON", magic, ver, [](std::string p) { p[4] = '#'; return p; }, {"'config'"}));
  cases.push_back(reframed("payload cut in the weights", magic, ver, [](std::string p) { return p.substr(0, p.size() - 20); },
                           {"truncated"}));
  cases.push_back(reframed("trailing bytes", magic, ver, [](std::string p) { return p + "12345678"; }, {"unexpected bytes"}));
  run_cases("agent checkpoint (agent/agent.hpp)", dir.path / "a.agent", valid,
            [](const fs::path& f) { (void)ag::Agent::load(f); }, cases);
}

TEST_CASE("reliability: benchmark files (JSONL, gzip) reject bad lines naming file and line", "[data][cpu]") {
  TempDir dir("bench");
  const std::string valid =
      "{\"question\": \"1+1?\", \"answer\": \"2\\n#### 2\"}\n{\"question\": \"2+2?\", \"answer\": \"4\\n#### 4\"}\n";
  auto gsm = [](const fs::path& f) { (void)dma::data::load_gsm_jsonl(f); };
  const std::vector<Case> cases{
      {"truncated line", [](const std::string& v) { return v.substr(0, v.size() - 10); }, {":2", "invalid JSON"}},
      {"bit flip (quote)", [](const std::string& v) { std::string s = v; s[1] = '\''; return s; }, {":1", "invalid JSON"}},
      {"missing field", [](const std::string& v) { std::string s = v; s.replace(s.find("question"), 8, "qu3stion"); return s; },
       {":1", "'question'"}},
      {"field of the wrong type", [](const std::string& v) { return v + "{\"question\": 7, \"answer\": \"#### 1\"}\n"; },
       {":3", "'question'"}},
      {"answer without a final line", [](const std::string& v) { return v + "{\"question\": \"q\", \"answer\": \"none\"}\n"; },
       {":3", "####"}},
      {"binary garbage", [](const std::string&) { return std::string("\x00\xff\x13garbage", 10); }, {":1"}},
  };
  std::size_t n = run_cases("benchmark JSONL (data/benchmarks.hpp)", dir.path / "g.jsonl", valid, gsm, cases);

  auto gz = [](const std::string& text) {
    const fs::path tmp = fs::temp_directory_path() / ("dma_rel_gz_" + std::to_string(::getpid()));
    gzFile f = gzopen(tmp.c_str(), "wb");
    gzwrite(f, text.data(), unsigned(text.size()));
    gzclose(f);
    std::string b = dma::io::read_file(tmp);
    fs::remove(tmp);
    return b;
  };
  std::string body;
  for (int i = 0; i < 40; ++i)
    body += "{\"task_id\": \"t/" + std::to_string(i) + "\", \"prompt\": \"def f():\", \"canonical_solution\": \"  return 1\"}\n";
  const std::string gvalid = gz(body);
  auto he = [](const fs::path& f) {
    const auto r = dma::data::load_humaneval(f);
    if (r.items.size() != 40) dma::fail(f.string(), ": read ", r.items.size(), " items, expected 40");
  };
  const std::vector<Case> gcases{
      {"truncated gzip", [](const std::string& v) { return v.substr(0, v.size() / 2); }, {}},
      {"bit flip in the deflate stream", [](const std::string& v) { std::string s = v; s[s.size() / 2] ^= 0x55; return s; }, {}},
      {"bad gzip CRC", [](const std::string& v) { std::string s = v; s[s.size() - 6] ^= 1; return s; }, {}},
      {"bad line inside the gzip", [&](const std::string&) { return gz(body + "{\"task_id\": 1}\n"); }, {":41"}},
  };
  n += run_cases("benchmark gzip (data/benchmarks.hpp)", dir.path / "h.jsonl.gz", gvalid, he, gcases);
  CHECK(n == 10);
}

TEST_CASE("reliability: env::Cpt saved runs reject mutations and foreign worlds", "[env][cpu]") {
  TempDir dir("cpt");
  const auto world = cpt_test::world();
  dma::env::Cpt<> env(world);
  env.step({0.3, 0.3, 0.4});
  env.save(dir.path / "valid.cpt");
  const std::string valid = dma::io::read_file(dir.path / "valid.cpt");
  using E = dma::env::Cpt<>;
  auto cases = framed_cases(E::kMagic.size());
  cases.push_back(reframed("world fingerprint differs", E::kMagic, E::kVersion,
                           [](std::string p) { p[3] ^= 1; return p; }, {"'world fingerprint'"}));
  cases.push_back(reframed("payload cut short", E::kMagic, E::kVersion, [](std::string p) { return p.substr(0, p.size() - 12); },
                           {}));
  cases.push_back(reframed("trailing bytes", E::kMagic, E::kVersion, [](std::string p) { return p + "abcd"; }, {"unexpected bytes"}));
  run_cases("env::Cpt save/load (env/cpt.hpp)", dir.path / "run.cpt", valid,
            [&](const fs::path& f) {
              dma::env::Cpt<> e(world);
              e.load(f);
            },
            cases);
}

TEST_CASE("sha256: FIPS 180-2 example vectors, a million 'a', and chunked updates agree", "[core][cpu]") {
  CHECK(dma::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(dma::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(dma::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(dma::sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55 and 56 bytes straddle the padding boundary; chunks of odd sizes cross block edges.
  CHECK(dma::sha256_hex(std::string(55, 'x')) == "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(dma::sha256_hex(std::string(56, 'x')) == "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  dma::Sha256 h;
  for (std::size_t off = 0, step = 1; off < million.size(); off += step, step = step * 3 % 1000 + 1)
    h.update(million.data() + off, std::min(step, million.size() - off));
  CHECK(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  TempDir dir("sha");
  write(dir.path / "f", million);
  CHECK(dma::sha256_file(dir.path / "f") == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK_THROWS_WITH(dma::sha256_file(dir.path / "missing"), Catch::Contains("missing"));
}

}  // namespace dma_test_reliability_readers
