// dma/data/corpus.hpp: documents on disk, the first step of the data flow.
// A Document is an id and its UTF-8 text. scripts/prepare_corpus.py writes JSON lines files
// ({"id", "text"} per line); users may also bring plain text files (one document per file).
// split_heldout() is the held-out rule for documents that arrive without a split (a hash of the
// document id, never random lines). Tested in tests/unit/data_shard.cpp and space_manifest.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"

namespace dma::data {

struct Document {
  std::string id;
  std::string text;
};

// Reads a JSON lines document file; errors name the file, the line and the missing field.
inline std::vector<Document> read_jsonl_documents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open document file");
  std::vector<Document> docs;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const std::string where = path.string() + ":" + std::to_string(lineno);
    const Json j = parse_json(line, where);
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string())
      fail(where, ": field 'id': expected a string");
    if (!j.contains("text") || !j["text"].is_string()) fail(where, ": field 'text': expected a string");
    docs.push_back({j["id"].get<std::string>(), j["text"].get<std::string>()});
  }
  if (in.bad()) fail(path.string(), ": read error");
  return docs;
}

// Writes documents as JSON lines, atomically (the format prepare_corpus.py writes).
inline void write_jsonl_documents(const std::filesystem::path& path, std::span<const Document> docs) {
  std::string out;
  for (const auto& d : docs) {
    out += Json{{"id", d.id}, {"text", d.text}}.dump(-1, ' ', false, Json::error_handler_t::replace);
    out += '\n';
  }
  io::atomic_write(path, out);
}

// Documents from files or folders: *.jsonl files are read as document files; any other file is
// one document whose id is its path relative to the folder given (or its file name). Folders
// are walked recursively in sorted order, so the result does not depend on the file system.
inline std::vector<Document> read_documents(const std::vector<std::filesystem::path>& inputs) {
  namespace fs = std::filesystem;
  std::vector<Document> docs;
  auto add_file = [&](const fs::path& p, const std::string& id) {
    if (p.extension() == ".jsonl") {
      auto more = read_jsonl_documents(p);
      docs.insert(docs.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    } else {
      docs.push_back({id, io::read_file(p)});
    }
  };
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(in))
        if (e.is_regular_file() && e.path().filename().string().front() != '.') files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add_file(f, fs::relative(f, in).generic_string());
    } else if (fs::is_regular_file(in)) {
      add_file(in, in.filename().string());
    } else {
      fail(in.string(), ": no such document file or folder");
    }
  }
  return docs;
}

// A number in [0, 1) from "domain/id" that does not depend on the order of the documents.
inline double heldout_key(std::string_view domain, std::string_view id) {
  std::uint64_t s = hash_tag(domain) ^ (hash_tag(id) * 0x9E3779B97F4A7C15ULL);
  return static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53;
}

struct Split {
  std::vector<Document> train, heldout;
};

// Held-out = the documents whose heldout_key is below `fraction`, lowest keys first, until
// `cap_bytes` of text (at least one document when there are two or more) [ours; the same rule
// as scripts/prepare_corpus.py, which uses sha256 for the key].
inline Split split_heldout(std::string_view domain, std::vector<Document> docs, double fraction = 0.05,
                           std::size_t cap_bytes = std::size_t(1) << 20) {
  std::vector<std::pair<double, std::size_t>> cand;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const double u = heldout_key(domain, docs[i].id);
    if (u < fraction) cand.emplace_back(u, i);
  }
  std::sort(cand.begin(), cand.end());
  std::vector<char> held(docs.size(), 0);
  std::size_t total = 0, n = 0;
  for (const auto& [u, i] : cand) {
    if (n > 0 && total + docs[i].text.size() > cap_bytes) break;
    held[i] = 1;
    total += docs[i].text.size();
    ++n;
  }
  if (n == 0 && docs.size() >= 2) {  // tiny domains still get one held-out document
    std::size_t best = 0;
    for (std::size_t i = 1; i < docs.size(); ++i)
      if (heldout_key(domain, docs[i].id) < heldout_key(domain, docs[best].id)) best = i;
    held[best] = 1;
  }
  Split s;
  for (std::size_t i = 0; i < docs.size(); ++i) (held[i] ? s.heldout : s.train).push_back(std::move(docs[i]));
  return s;
}

}  // namespace dma::data
