// dma/core/reflect.hpp: configs declared once. A config struct lists its JSON fields in one
// static function, and reading, writing and key checking are generated from that list:
//
//   struct SftConfig {
//     int epochs = 60;
//     agent::AdamConfig adam{};
//     static constexpr auto fields() {
//       using namespace dma::reflect;
//       return make_fields(field("epochs", &SftConfig::epochs),
//                          field("lr", [](auto& c) -> auto& { return c.adam.lr; }));
//     }
//     void validate(const std::string& where) const;   // optional: its own fields' checks
//   };
//   reflect::read(json, cfg, "run.json");  // unknown keys refused (naming the known ones), each
//                                          // value type-checked, nested configs recursed, then
//                                          // reflect::validate(cfg, "run.json"): every nested
//                                          // config's validate(), then the config's own
//   Json j = reflect::to_json(cfg);
//
// A field is a name plus an accessor (a data member pointer or a generic lambda returning a
// reference), a codec (the type's default, one_of() for enums, or one of the user's), and
// optional write rules: written_if(pred) / omit_default() keep earlier JSON (and so the cache
// keys and world fingerprints hashed from it) unchanged when a newer key is at its default;
// written_as(f) writes a derived value; read_only() reads a key that is not written back,
// write_only() the reverse; ignored(name) accepts a key and drops it.
// The field list is a boost::hana tuple, walked at compile time. Tested in tests/unit/core_reflect.cpp.
#pragma once

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"

namespace dma::reflect {

template <class T>
concept Reflected = requires { T::fields(); };

template <class T>
void read(const Json& j, T& out, const std::string& source, const std::string& path = "");
template <class T>
[[nodiscard]] Json to_json(const T& t);

namespace detail {
inline std::string where(const std::string& source, const std::string& path) {
  return path.empty() ? source : source + ": field '" + path + "'";
}
inline std::string short_dump(const Json& j) {
  std::string s = j.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}
[[noreturn]] inline void expected(const std::string& source, const std::string& path, std::string_view what,
                                  const Json& got) {
  fail(where(source, path), ": expected ", what, ", got ", short_dump(got));
}
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
}  // namespace detail

// The codec of a value type: encode to JSON, decode from JSON with the field's path in errors.
template <class V>
struct Codec {
  static Json encode(const V& v) {
    if constexpr (Reflected<V>) {
      return to_json(v);
    } else if constexpr (std::is_same_v<V, Json>) {
      return v;
    } else if constexpr (std::is_same_v<V, std::filesystem::path>) {
      return v.string();
    } else if constexpr (detail::is_vector<V>::value) {
      Json a = Json::array();
      for (const auto& x : v) a.push_back(Codec<typename V::value_type>::encode(x));
      return a;
    } else if constexpr (detail::is_string_map<V>::value) {
      Json o = Json::object();
      for (const auto& [k, x] : v) o[k] = Codec<typename V::mapped_type>::encode(x);
      return o;
    } else {
      return Json(v);
    }
  }
  static void decode(const Json& j, V& v, const std::string& source, const std::string& path) {
    if constexpr (Reflected<V>) {
      read(j, v, source, path);
    } else if constexpr (std::is_same_v<V, Json>) {  // a JSON object passed on as it is
      if (!j.is_object()) detail::expected(source, path, "an object", j);
      v = j;
    } else if constexpr (std::is_same_v<V, bool>) {
      if (!j.is_boolean()) detail::expected(source, path, "true or false", j);
      v = j.get<bool>();
    } else if constexpr (std::is_integral_v<V>) {
      // Integers, and numbers with an integral value (a command-line 2e6 arrives as a double).
      if (!j.is_number()) detail::expected(source, path, "an integer", j);
      if (j.is_number_float()) {
        const double d = j.get<double>();
        if (!(std::floor(d) == d) || !(std::fabs(d) < 9.0e18)) detail::expected(source, path, "an integer", j);
      }
      if constexpr (std::is_unsigned_v<V>) {
        if (j.is_number_integer() && !j.is_number_unsigned() && j.get<long long>() < 0)
          detail::expected(source, path, "a non-negative integer", j);
        if (j.is_number_float() && j.get<double>() < 0) detail::expected(source, path, "a non-negative integer", j);
        const auto u = j.is_number_float() ? static_cast<unsigned long long>(j.get<double>()) : j.get<unsigned long long>();
        if (u > std::numeric_limits<V>::max()) detail::expected(source, path, "a smaller integer", j);
        v = static_cast<V>(u);
      } else {
        const auto s = j.is_number_float() ? static_cast<long long>(j.get<double>()) : j.get<long long>();
        if (s > std::numeric_limits<V>::max() || s < std::numeric_limits<V>::min())
          detail::expected(source, path, "a smaller integer", j);
        v = static_cast<V>(s);
      }
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!j.is_number()) detail::expected(source, path, "a number", j);
      const double d = j.get<double>();
      if (std::isfinite(d) && std::fabs(d) > double(std::numeric_limits<V>::max()))
        detail::expected(source, path, "a number in range", j);
      v = static_cast<V>(d);
    } else if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, std::filesystem::path>) {
      if (!j.is_string()) detail::expected(source, path, "a string", j);
      v = j.get<std::string>();
    } else if constexpr (detail::is_vector<V>::value) {
      if (!j.is_array()) detail::expected(source, path, "an array", j);
      V out(j.size());
      for (std::size_t i = 0; i < j.size(); ++i)
        Codec<typename V::value_type>::decode(j[i], out[i], source, path + "[" + std::to_string(i) + "]");
      v = std::move(out);
    } else if constexpr (detail::is_string_map<V>::value) {
      if (!j.is_object()) detail::expected(source, path, "an object", j);
      V out;
      for (auto it = j.begin(); it != j.end(); ++it)
        Codec<typename V::mapped_type>::decode(it.value(), out[it.key()], source, path + "." + it.key());
      v = std::move(out);
    } else {
      static_assert(sizeof(V) == 0, "dma::reflect::Codec: no default codec for this type; give the field one");
    }
  }
};

// An enum (or any value) spelled as one of a fixed set of names.
template <class E, std::size_t N>
struct OneOf {
  std::array<std::pair<E, std::string_view>, N> names;
  [[nodiscard]] Json encode(const E& e) const {
    for (const auto& [v, n] : names)
      if (v == e) return std::string(n);
    fail("reflect: a value without a name");
  }
  void decode(const Json& j, E& e, const std::string& source, const std::string& path) const {
    std::string list;
    for (const auto& [v, n] : names) list += (list.empty() ? "" : " or ") + std::string(n);
    if (j.is_string())
      for (const auto& [v, n] : names)
        if (j.get<std::string>() == n) {
          e = v;
          return;
        }
    detail::expected(source, path, list, j);
  }
};
template <class E, class... P>
constexpr auto one_of(P... names) {
  return OneOf<E, sizeof...(P)>{{names...}};
}

// A double where +infinity is spelled "inf".
struct InfOrNumber {
  [[nodiscard]] static Json encode(double v) { return std::isinf(v) && v > 0 ? Json("inf") : Json(v); }
  static void decode(const Json& j, double& v, const std::string& source, const std::string& path) {
    if (j.is_string() && j.get<std::string>() == "inf") v = std::numeric_limits<double>::infinity();
    else if (j.is_number()) v = j.get<double>();
    else detail::expected(source, path, "a number or \"inf\"", j);
  }
};

struct DefaultCodec {};
struct Always {
  template <class T>
  constexpr bool operator()(const T&) const { return true; }
};
struct NoWriter {};

template <class Access, class C = DefaultCodec, class Cond = Always, class Writer = NoWriter>
struct Field {
  std::string_view name;
  Access access;  // (auto& cfg) -> auto& member
  C codec{};
  Cond cond{};    // written only when cond(cfg)
  Writer writer{};
  bool readable = true, writable = true;

  template <class T>
  [[nodiscard]] Json encode(const T& t) const {
    if constexpr (!std::is_same_v<Writer, NoWriter>) {
      return Json(writer(t));
    } else {
      using V = std::remove_cvref_t<decltype(access(t))>;
      if constexpr (std::is_same_v<C, DefaultCodec>) return Codec<V>::encode(access(t));
      else return codec.encode(access(t));
    }
  }
  template <class T>
  void decode(const Json& j, T& t, const std::string& source, const std::string& path) const {
    using V = std::remove_cvref_t<decltype(access(t))>;
    if constexpr (std::is_same_v<C, DefaultCodec>) Codec<V>::decode(j, access(t), source, path);
    else codec.decode(j, access(t), source, path);
  }

  // Written only when pred(cfg) holds.
  template <class P>
  constexpr auto written_if(P pred) const {
    return Field<Access, C, P, Writer>{name, access, codec, pred, writer, readable, writable};
  }
  // Written only when its value differs from a default-constructed config's.
  template <class T>
  constexpr auto omit_default() const {
    auto acc = access;
    return written_if([acc](const T& t) {
      static const T d{};
      return !(acc(t) == acc(d));
    });
  }
  // Written as w(cfg) (a derived value) instead of the member.
  template <class W>
  constexpr auto written_as(W w) const {
    return Field<Access, C, Cond, W>{name, access, codec, cond, w, readable, writable};
  }
  constexpr auto read_only() const {
    auto f = *this;
    f.writable = false;
    return f;
  }
  constexpr auto write_only() const {
    auto f = *this;
    f.readable = false;
    return f;
  }
};

template <class A>
constexpr auto accessor(A a) {
  if constexpr (std::is_member_object_pointer_v<A>) return [a](auto& c) -> auto& { return c.*a; };
  else return a;
}
template <class A>
constexpr auto field(std::string_view name, A a) {
  auto acc = accessor(a);
  return Field<decltype(acc)>{name, acc};
}
template <class A, class C>
constexpr auto field(std::string_view name, A a, C codec) {
  auto acc = accessor(a);
  return Field<decltype(acc), C>{name, acc, codec};
}
// A key that is accepted and ignored (a comment such as "about", or a key another reader owns).
struct Ignored {
  struct Access {
    template <class T>
    Json& operator()(T&) const {
      thread_local Json sink;
      return sink;
    }
  };
  [[nodiscard]] static Json encode(const Json&) { return {}; }
  static void decode(const Json&, Json&, const std::string&, const std::string&) {}
};
constexpr auto ignored(std::string_view name) {
  return Field<Ignored::Access, Ignored>{name, {}, {}, {}, {}, true, false};
}

template <class... F>
constexpr auto make_fields(F... f) {
  return boost::hana::make_tuple(f...);
}

// The keys read from a JSON object of T, in declaration order.
template <Reflected T>
[[nodiscard]] std::vector<std::string> keys() {
  std::vector<std::string> k;
  boost::hana::for_each(T::fields(), [&](const auto& f) {
    if (f.readable) k.emplace_back(f.name);
  });
  return k;
}

// Checks a config: every nested config first (where + ":" + its key), then T's own validate(where)
// or validate() when it has one. read() calls it once, on the whole config read.
template <class T>
void validate(const T& t, const std::string& where) {
  if constexpr (Reflected<T>) {
    boost::hana::for_each(T::fields(), [&](const auto& f) {
      using V = std::remove_cvref_t<decltype(f.access(t))>;
      if constexpr (Reflected<V>) validate(f.access(t), where + ":" + std::string(f.name));
    });
  }
  if constexpr (requires { t.validate(std::string()); })
    t.validate(where);
  else if constexpr (requires { t.validate(); })
    t.validate();
}

template <class T>
void read(const Json& j, T& out, const std::string& source, const std::string& path) {
  static_assert(Reflected<T>, "dma::reflect::read: T must declare static fields()");
  if (!j.is_object()) detail::expected(source, path, "an object", j);
  const auto known = keys<T>();
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    for (const auto& k : known) found = found || k == it.key();
    if (!found) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(path.empty() ? source : source + ": " + path, ": unknown key '", it.key(), "' (known: ", list, ")");
    }
  }
  boost::hana::for_each(T::fields(), [&](const auto& f) {
    if (!f.readable) return;
    const auto it = j.find(std::string(f.name));
    if (it != j.end()) f.decode(*it, out, source, path.empty() ? std::string(f.name) : path + "." + std::string(f.name));
  });
  if (path.empty()) validate(out, source);
}

// A config read from JSON: T's defaults, then the keys present.
template <Reflected T>
[[nodiscard]] T from_json(const Json& j, const std::string& source, T defaults = {}) {
  read(j, defaults, source);
  return defaults;
}

template <class T>
Json to_json(const T& t) {
  static_assert(Reflected<T>, "dma::reflect::to_json: T must declare static fields()");
  Json j = Json::object();
  boost::hana::for_each(T::fields(), [&](const auto& f) {
    if (f.writable && f.cond(t)) j[std::string(f.name)] = f.encode(t);
  });
  return j;
}

}  // namespace dma::reflect
