// dma/mixers/regression.hpp: the small regressors RegMix (regmix.hpp) fits from mixture features
// to a run's score: ridge linear regression (RegMix's linear model) and RBF kernel ridge
// regression (our non-linear regressor, in place of the paper's LightGBM), each choosing its
// hyper-parameters by exact or near-exact leave-one-out error, and Regressor, which fits one or
// both (Auto keeps the lower LOO error). Eigen, CPU, a few hundred points at most.
// Tested in tests/unit/mixers_regmix.cpp (recovers known linear and quadratic responses).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dma/core/error.hpp"

namespace dma::mixers::regression {

// Column standardisation learnt on the training features (constant columns are only centred).
struct Scaler {
  Eigen::RowVectorXd mean, scale;
  void fit(const Eigen::MatrixXd& X) {
    mean = X.colwise().mean();
    scale.resize(X.cols());
    for (Eigen::Index j = 0; j < X.cols(); ++j) {
      const double var = (X.col(j).array() - mean(j)).square().mean();
      scale(j) = var > 1e-24 ? std::sqrt(var) : 1.0;
    }
  }
  [[nodiscard]] Eigen::MatrixXd apply(const Eigen::MatrixXd& X) const {
    return (X.rowwise() - mean).array().rowwise() / scale.array();
  }
};

namespace detail {
inline void check_xy(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const char* who) {
  if (X.rows() != y.size()) fail(who, ": ", X.rows(), " feature rows but ", y.size(), " targets");
  if (X.rows() < 3) fail(who, ": need at least 3 points to fit and cross-validate, got ", X.rows());
  if (!X.allFinite() || !y.allFinite()) fail(who, ": features and targets must be finite");
}
}  // namespace detail

// Ridge regression with an unpenalised intercept on standardised features; lambda (scaled by n)
// chosen from a grid by the exact LOO residual e_i / (1 - H_ii) of a linear smoother.
class RidgeLinear {
 public:
  explicit RidgeLinear(std::vector<double> lambdas = {1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0})
      : m_grid(std::move(lambdas)) {}

  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    detail::check_xy(X, y, "regression 'linear'");
    m_scaler.fit(X);
    const Eigen::MatrixXd Z = m_scaler.apply(X);
    const auto n = double(X.rows());
    m_y_mean = y.mean();
    const Eigen::VectorXd yc = y.array() - m_y_mean;
    const Eigen::MatrixXd ZtZ = Z.transpose() * Z;
    m_loo = std::numeric_limits<double>::infinity();
    for (double lam : m_grid) {
      Eigen::MatrixXd A = ZtZ;
      A.diagonal().array() += lam * n;
      const Eigen::LDLT<Eigen::MatrixXd> ldlt(A);
      const Eigen::VectorXd beta = ldlt.solve(Z.transpose() * yc);
      const Eigen::MatrixXd AinvZt = ldlt.solve(Z.transpose());
      double mse = 0;
      for (Eigen::Index i = 0; i < Z.rows(); ++i) {
        const double h = 1.0 / n + Z.row(i).dot(AinvZt.col(i));
        const double e = yc(i) - Z.row(i).dot(beta);
        const double r = e / std::max(1.0 - h, 1e-9);
        mse += r * r / n;
      }
      if (mse < m_loo) {
        m_loo = mse;
        m_lambda = lam;
        m_beta = beta;
      }
    }
  }
  [[nodiscard]] Eigen::VectorXd predict(const Eigen::MatrixXd& X) const {
    return (m_scaler.apply(X) * m_beta).array() + m_y_mean;
  }
  [[nodiscard]] double loo_mse() const noexcept { return m_loo; }
  [[nodiscard]] double lambda() const noexcept { return m_lambda; }
  // Coefficients on the original (unstandardised) features.
  [[nodiscard]] Eigen::VectorXd coefficients() const { return m_beta.array() / m_scaler.scale.transpose().array(); }
  [[nodiscard]] std::string name() const { return "linear"; }

 private:
  std::vector<double> m_grid;
  Scaler m_scaler;
  Eigen::VectorXd m_beta;
  double m_y_mean = 0, m_lambda = 0, m_loo = std::numeric_limits<double>::infinity();
};

// Kernel ridge regression with k(a, b) = exp(-gamma |a - b|^2) on standardised features and the
// training mean as offset. gamma = c / median pairwise squared distance, (c, lambda) from a grid
// by the LOO residual alpha_i / G_ii, G = (K + lambda I)^-1 (exact for the centred targets).
class KernelRidge {
 public:
  KernelRidge(std::vector<double> gamma_factors = {0.1, 0.3, 1.0, 3.0, 10.0},
              std::vector<double> lambdas = {1e-4, 1e-3, 1e-2, 1e-1, 1.0})
      : m_cgrid(std::move(gamma_factors)), m_lgrid(std::move(lambdas)) {}

  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    detail::check_xy(X, y, "regression 'kernel_ridge'");
    m_scaler.fit(X);
    m_Z = m_scaler.apply(X);
    const Eigen::Index n = m_Z.rows();
    m_y_mean = y.mean();
    const Eigen::VectorXd yc = y.array() - m_y_mean;
    Eigen::MatrixXd D2(n, n);
    std::vector<double> d;
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < n; ++j) {
        D2(i, j) = (m_Z.row(i) - m_Z.row(j)).squaredNorm();
        if (j > i && D2(i, j) > 0) d.push_back(D2(i, j));
      }
    double med = 1.0;
    if (!d.empty()) {
      std::nth_element(d.begin(), d.begin() + std::ptrdiff_t(d.size() / 2), d.end());
      med = d[d.size() / 2];
    }
    m_loo = std::numeric_limits<double>::infinity();
    for (double c : m_cgrid) {
      const double gamma = c / med;
      const Eigen::MatrixXd K = (-gamma * D2.array()).exp().matrix();
      for (double lam : m_lgrid) {
        Eigen::MatrixXd A = K;
        A.diagonal().array() += lam;
        const Eigen::LLT<Eigen::MatrixXd> llt(A);
        if (llt.info() != Eigen::Success) continue;
        const Eigen::MatrixXd G = llt.solve(Eigen::MatrixXd::Identity(n, n));
        const Eigen::VectorXd alpha = G * yc;
        const double mse = (alpha.array() / G.diagonal().array()).square().mean();
        if (mse < m_loo) {
          m_loo = mse;
          m_gamma = gamma;
          m_lambda = lam;
          m_alpha = alpha;
        }
      }
    }
    if (!std::isfinite(m_loo)) fail("regression 'kernel_ridge': no hyper-parameter on the grid gave a solvable system");
  }
  [[nodiscard]] Eigen::VectorXd predict(const Eigen::MatrixXd& X) const {
    const Eigen::MatrixXd Z = m_scaler.apply(X);
    Eigen::VectorXd out(Z.rows());
    for (Eigen::Index r = 0; r < Z.rows(); ++r) {
      const Eigen::VectorXd k = (-m_gamma * (m_Z.rowwise() - Z.row(r)).rowwise().squaredNorm().array()).exp();
      out(r) = m_y_mean + k.dot(m_alpha);
    }
    return out;
  }
  [[nodiscard]] double loo_mse() const noexcept { return m_loo; }
  [[nodiscard]] double gamma() const noexcept { return m_gamma; }
  [[nodiscard]] double lambda() const noexcept { return m_lambda; }
  [[nodiscard]] std::string name() const { return "kernel_ridge"; }

 private:
  std::vector<double> m_cgrid, m_lgrid;
  Scaler m_scaler;
  Eigen::MatrixXd m_Z;
  Eigen::VectorXd m_alpha;
  double m_y_mean = 0, m_gamma = 1, m_lambda = 0, m_loo = std::numeric_limits<double>::infinity();
};

enum class Kind { Linear, KernelRidge, Auto };

inline const char* to_string(Kind k) noexcept {
  return k == Kind::Linear ? "linear" : k == Kind::KernelRidge ? "kernel_ridge" : "auto";
}

// Fits the requested model (Auto: both, keeps the one with the lower LOO error).
class Regressor {
 public:
  explicit Regressor(Kind kind = Kind::Auto) : m_kind(kind) {}
  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    m_linear_loo = m_kernel_loo = std::numeric_limits<double>::quiet_NaN();
    if (m_kind != Kind::KernelRidge) {
      m_linear.fit(X, y);
      m_linear_loo = m_linear.loo_mse();
    }
    if (m_kind != Kind::Linear) {
      m_kernel.fit(X, y);
      m_kernel_loo = m_kernel.loo_mse();
    }
    m_use_kernel = m_kind == Kind::KernelRidge || (m_kind == Kind::Auto && m_kernel_loo < m_linear_loo);
  }
  [[nodiscard]] Eigen::VectorXd predict(const Eigen::MatrixXd& X) const {
    return m_use_kernel ? m_kernel.predict(X) : m_linear.predict(X);
  }
  [[nodiscard]] std::string chosen() const { return m_use_kernel ? m_kernel.name() : m_linear.name(); }
  [[nodiscard]] double loo_mse() const noexcept { return m_use_kernel ? m_kernel_loo : m_linear_loo; }
  [[nodiscard]] double linear_loo_mse() const noexcept { return m_linear_loo; }  // NaN when not fitted
  [[nodiscard]] double kernel_loo_mse() const noexcept { return m_kernel_loo; }  // NaN when not fitted
  [[nodiscard]] const RidgeLinear& linear() const noexcept { return m_linear; }
  [[nodiscard]] const KernelRidge& kernel() const noexcept { return m_kernel; }

 private:
  Kind m_kind;
  RidgeLinear m_linear;
  KernelRidge m_kernel;
  bool m_use_kernel = false;
  double m_linear_loo = std::numeric_limits<double>::quiet_NaN(), m_kernel_loo = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace dma::mixers::regression
