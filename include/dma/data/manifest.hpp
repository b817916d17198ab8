// dma/data/manifest.hpp: the corpus manifest written by scripts/prepare_corpus.py (manifest.json).
// Per domain: name, field, text bytes, documents, its train/held-out document files (path
// relative to the manifest, bytes, documents, sha256) and the packages it came from. Parsing
// checks every field and names it in the error; check_files() compares file sizes with the
// manifest, verify_sha256() (opt-in, reads every byte) their SHA-256 (core/sha256.hpp). space/manifest.hpp turns it into a DomainSpace. Tested in tests/unit/space_manifest.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/sha256.hpp"
#include "dma/core/types.hpp"

namespace dma::data {

struct ManifestFile {
  std::filesystem::path path;  // absolute (resolved against the manifest's folder)
  std::uint64_t bytes = 0;
  std::uint64_t documents = 0;
  std::string sha256;
};

struct ManifestSource {
  std::string package, version, kind;
};

struct ManifestDomain {
  std::string name;
  Field field = Field::Source;
  std::uint64_t bytes = 0;      // UTF-8 text bytes over all documents
  std::uint64_t documents = 0;  // train + held-out
  ManifestFile train, heldout;
  std::vector<ManifestSource> sources;
};

struct CorpusManifest {
  std::filesystem::path path;
  std::vector<ManifestDomain> domains;
  std::vector<std::string> unavailable;  // "name: reason" for domains that could not be built

  static CorpusManifest parse(const Json& j, const std::filesystem::path& path) {
    const std::string src = path.string();
    if (!j.is_object()) fail(src, ": expected a JSON object at the top level");
    if (!j.contains("format") || j["format"] != "dma-corpus") fail(src, ": field 'format': expected \"dma-corpus\"");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != 1)
      fail(src, ": field 'version': expected 1 (this build reads corpus manifest version 1)");
    if (!j.contains("domains") || !j["domains"].is_array()) fail(src, ": field 'domains': expected an array");
    CorpusManifest m;
    m.path = path;
    const auto root = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    for (std::size_t i = 0; i < j["domains"].size(); ++i) {
      const Json& d = j["domains"][i];
      const std::string at = src + ": domains[" + std::to_string(i) + "]";
      if (!d.is_object()) fail(at, ": expected an object");
      ManifestDomain md;
      md.name = string_field(d, "name", at);
      if (md.name.empty()) fail(at, ".name: expected a non-empty string");
      for (const auto& other : m.domains)
        if (other.name == md.name) fail(at, ".name: domain '", md.name, "' appears twice");
      const std::string field = string_field(d, "field", at);
      if (field != "source" && field != "target")
        fail(at, ".field: expected \"source\" or \"target\", got \"", field, "\"");
      md.field = field == "target" ? Field::Target : Field::Source;
      md.bytes = count_field(d, "bytes", at);
      md.documents = count_field(d, "documents", at);
      if (!d.contains("files") || !d["files"].is_object()) fail(at, ".files: expected an object");
      md.train = file_field(d["files"], "train", at + ".files", root);
      md.heldout = file_field(d["files"], "heldout", at + ".files", root);
      if (md.train.documents + md.heldout.documents != md.documents)
        fail(at, ".documents: ", md.documents, " but the files hold ", md.train.documents, " + ",
             md.heldout.documents);
      if (d.contains("sources") && d["sources"].is_array())
        for (const Json& s : d["sources"])
          md.sources.push_back({opt_string(s, "package"), opt_string(s, "version"), opt_string(s, "kind")});
      m.domains.push_back(std::move(md));
    }
    if (j.contains("unavailable") && j["unavailable"].is_array())
      for (const Json& u : j["unavailable"]) m.unavailable.push_back(opt_string(u, "name", "?") + ": " + opt_string(u, "reason"));
    return m;
  }

  static CorpusManifest load(const std::filesystem::path& path) { return parse(load_json(path), path); }

  // Each document file exists and has the size the manifest states (a cheap integrity check;
  // the sha256 values are for `sha256sum -c`-style audits).
  void check_files() const {
    for (const auto& d : domains)
      for (const ManifestFile* f : {&d.train, &d.heldout}) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(f->path, ec);
        if (ec) fail(path.string(), ": domain '", d.name, "': file ", f->path.string(), " is missing");
        if (n != f->bytes)
          fail(path.string(), ": domain '", d.name, "': file ", f->path.string(), " has ", n,
               " bytes but the manifest says ", f->bytes, " (re-run scripts/prepare_data.sh)");
      }
  }

  // The full audit: sizes, then each file's SHA-256 against the manifest's (reads every byte;
  // opt-in because a 10-domain corpus takes seconds). Names the domain, the file and both digests.
  void verify_sha256() const {
    check_files();
    for (const auto& d : domains)
      for (const ManifestFile* f : {&d.train, &d.heldout}) {
        const std::string got = sha256_file(f->path);
        if (got != f->sha256)
          fail(path.string(), ": domain '", d.name, "': file ", f->path.string(), ": field 'sha256': expected ",
               f->sha256, " but the file hashes to ", got, " (corrupted or edited; re-run scripts/prepare_data.sh)");
      }
  }

 private:
  // An informational string: absent or of another type gives `fallback` (Json::value would throw).
  static std::string opt_string(const Json& o, const char* key, const char* fallback = "") {
    return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : fallback;
  }
  static std::string string_field(const Json& d, const char* key, const std::string& at) {
    if (!d.contains(key) || !d[key].is_string()) fail(at, ".", key, ": expected a string");
    return d[key].get<std::string>();
  }
  static std::uint64_t count_field(const Json& d, const char* key, const std::string& at) {
    if (!d.contains(key) || !d[key].is_number_unsigned()) fail(at, ".", key, ": expected a non-negative integer");
    return d[key].get<std::uint64_t>();
  }
  static ManifestFile file_field(const Json& files, const char* key, const std::string& at,
                                 const std::filesystem::path& root) {
    const std::string where = at + "." + key;
    if (!files.contains(key) || !files[key].is_object()) fail(where, ": expected an object");
    const Json& f = files[key];
    ManifestFile mf;
    mf.path = root / string_field(f, "path", where);
    mf.bytes = count_field(f, "bytes", where);
    mf.documents = count_field(f, "documents", where);
    mf.sha256 = string_field(f, "sha256", where);
    if (mf.sha256.size() != 64) fail(where, ".sha256: expected 64 hex digits");
    return mf;
  }
};

}  // namespace dma::data
