// dma/core/config.hpp: JSON configuration with command-line overrides.
// Config::from_args reads `--config FILE.json` (optional) and then applies `--key value`
// overrides (dotted keys reach nested objects: --collect.trajectories 200). Typed getters
// throw dma::Error naming the source, the key and the expected type. Runtime choices (preset,
// paths, backend) are read once, in main.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"

namespace dma {

using Json = nlohmann::json;

inline Json parse_json(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    fail(source, ": invalid JSON: ", e.what());
  }
}

inline Json load_json(const std::filesystem::path& path) {
  return parse_json(io::read_file(path), path.string());
}

inline void save_json(const std::filesystem::path& path, const Json& j) {
  io::atomic_write(path, j.dump(2) + "\n");
}

class Config {
 public:
  Config() : m_json(Json::object()) {}
  Config(Json j, std::string source) : m_json(std::move(j)), m_source(std::move(source)) {
    if (!m_json.is_object()) fail(m_source, ": expected a JSON object at the top level");
  }

  static Config from_file(const std::filesystem::path& p) { return Config(load_json(p), p.string()); }

  // --config FILE then --key value pairs; a bare --flag sets true; positional args go to "args".
  static Config from_args(int argc, char** argv) {
    Config c;
    c.m_source = "command line";
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--config") {
        if (i + 1 >= argc) fail("command line: --config needs a file path");
        Config f = from_file(argv[++i]);
        c.m_json.merge_patch(f.m_json);
        c.m_source = f.m_source + " + command line";
      } else if (a.rfind("--", 0) == 0) {
        std::string key = a.substr(2);
        std::string value = "true";
        if (auto eq = key.find('='); eq != std::string::npos) {
          value = key.substr(eq + 1);
          key = key.substr(0, eq);
        } else if (i + 1 < argc && std::string_view(argv[i + 1]).rfind("--", 0) != 0) {
          value = argv[++i];
        }
        c.set_path(key, parse_scalar(value));
      } else {
        c.m_json["args"].push_back(a);
      }
    }
    return c;
  }

  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }

  template <class T>
  [[nodiscard]] T get(std::string_view key, const T& fallback) const {
    const Json* j = find(key);
    if (!j) return fallback;
    return convert<T>(*j, key);
  }
  template <class T>
  [[nodiscard]] T require(std::string_view key) const {
    const Json* j = find(key);
    if (!j) fail(m_source, ": missing required key '", key, "'");
    return convert<T>(*j, key);
  }
  [[nodiscard]] Config sub(std::string_view key) const {
    const Json* j = find(key);
    if (!j) return Config(Json::object(), m_source + ":" + std::string(key));
    if (!j->is_object()) fail(m_source, ": key '", key, "': expected an object");
    return Config(*j, m_source + ":" + std::string(key));
  }
  void set(std::string_view key, Json v) { set_path(std::string(key), std::move(v)); }

  [[nodiscard]] const Json& json() const noexcept { return m_json; }
  [[nodiscard]] const std::string& source() const noexcept { return m_source; }

 private:
  static Json parse_scalar(const std::string& v) {
    if (v == "true") return true;
    if (v == "false") return false;
    try {
      std::size_t pos = 0;
      long long i = std::stoll(v, &pos);
      if (pos == v.size()) return i;
      double d = std::stod(v, &pos);
      if (pos == v.size()) return d;
    } catch (...) {
    }
    if (!v.empty() && (v.front() == '[' || v.front() == '{')) {
      try {
        return Json::parse(v);
      } catch (...) {
      }
    }
    return v;
  }
  const Json* find(std::string_view key) const {
    const Json* cur = &m_json;
    std::size_t start = 0;
    while (true) {
      const auto dot = key.find('.', start);
      const std::string part(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
      if (dot == std::string_view::npos) return cur;
      start = dot + 1;
    }
  }
  void set_path(const std::string& key, Json v) {
    Json* cur = &m_json;
    std::size_t start = 0;
    while (true) {
      const auto dot = key.find('.', start);
      const std::string part = key.substr(start, dot == std::string::npos ? key.npos : dot - start);
      if (dot == std::string::npos) {
        (*cur)[part] = std::move(v);
        return;
      }
      cur = &(*cur)[part];
      start = dot + 1;
    }
  }
  template <class T>
  T convert(const Json& j, std::string_view key) const {
    try {
      return j.get<T>();
    } catch (const Json::exception& e) {
      fail(m_source, ": key '", key, "': has the wrong type (", j.type_name(), "): ", e.what());
    }
  }

  Json m_json;
  std::string m_source = "config";
};

}  // namespace dma
