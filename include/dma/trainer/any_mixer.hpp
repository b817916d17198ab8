// dma/trainer/any_mixer.hpp: AnyMixer, a copyable type-erased Mixer, so that a results table can
// compare a run-time list of mixers of different types (baselines, agents, user rules). Copying
// it copies the wrapped mixer: compare() runs every episode on a fresh copy, so stateful mixers
// never leak state across episodes. Tested in tests/unit/trainer_compare.cpp.
#pragma once

#include <memory>
#include <string>

#include "dma/core/concepts.hpp"

namespace dma::trainer {

class AnyMixer {
 public:
  template <class M>
    requires(Mixer<M> && !std::same_as<std::decay_t<M>, AnyMixer>)
  AnyMixer(M m, std::string label = {})  // NOLINT: implicit on purpose (methods.push_back(Uniform{}))
      : m_impl(std::make_unique<Model<M>>(std::move(m))), m_label(std::move(label)) {
    static_assert(std::copy_constructible<M>, "AnyMixer: the mixer must be copyable (one copy per episode)");
  }
  AnyMixer(const AnyMixer& o) : m_impl(o.m_impl->clone()), m_label(o.m_label) {}
  AnyMixer& operator=(const AnyMixer& o) {
    if (this != &o) {
      m_impl = o.m_impl->clone();
      m_label = o.m_label;
    }
    return *this;
  }
  AnyMixer(AnyMixer&&) noexcept = default;
  AnyMixer& operator=(AnyMixer&&) noexcept = default;

  void reset(const EpisodeSpec& spec) { m_impl->reset(spec); }
  Mixture next(const History& h) { return m_impl->next(h); }
  [[nodiscard]] std::string name() const { return m_label.empty() ? m_impl->name() : m_label; }
  [[nodiscard]] bool open_loop() const { return m_impl->open_loop(); }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::unique_ptr<Concept> clone() const = 0;
    virtual void reset(const EpisodeSpec&) = 0;
    virtual Mixture next(const History&) = 0;
    virtual std::string name() const = 0;
    virtual bool open_loop() const = 0;
  };
  template <class M>
  struct Model final : Concept {
    explicit Model(M x) : m(std::move(x)) {}
    std::unique_ptr<Concept> clone() const override { return std::make_unique<Model>(m); }
    void reset(const EpisodeSpec& s) override { m.reset(s); }
    Mixture next(const History& h) override { return m.next(h); }
    std::string name() const override { return std::string(m.name()); }
    bool open_loop() const override { return is_open_loop(m); }
    M m;
  };
  std::unique_ptr<Concept> m_impl;
  std::string m_label;
};

static_assert(Mixer<AnyMixer>);

}  // namespace dma::trainer
