#include "qwem/theory.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "qwem/blas.hpp"

namespace qwem {

double TheorySquaredSingularValue(double lambda, double a0, double tau) {
  if (a0 <= 0) return 0;
  const double x = lambda * tau;
  if (lambda == 0) return 1.0 / (1.0 / a0 - tau);  // limit of (e^x - 1) / lambda -> tau
  if (x > 0) {
    // Divide through by e^x: a = 1 / (e^-x / a0 + (1 - e^-x) / lambda), no overflow.
    const double e = std::exp(-x);
    return 1.0 / (e / a0 + (1.0 - e) / lambda);
  }
  const double e = std::exp(x);
  return e / (1.0 / a0 + std::expm1(x) / lambda);
}

double SwitchOnTime(double lambda, double a0) {
  if (lambda <= a0 || a0 <= 0) return std::numeric_limits<double>::infinity();
  return std::log(lambda / a0) / lambda;
}

double TheoryMaxError(const std::vector<double>& measured, int measured_stride, const std::vector<double>& theory,
                      int theory_stride, const std::vector<double>& eigenvalues, int n_modes) {
  if (measured_stride <= 0 || theory_stride <= 0) return 0;
  const std::size_t n = std::min(measured.size() / measured_stride, theory.size() / theory_stride);
  const int k_max = std::min({n_modes, measured_stride, theory_stride, static_cast<int>(eigenvalues.size())});
  double worst = 0;
  std::vector<double> m(measured_stride), t(theory_stride);
  for (std::size_t s = 0; s < n; ++s) {
    // Singular values carry no mode labels: compare the sorted measured values with the sorted
    // theory values (a mode whose a_0 is small can switch on after a smaller one).
    m.assign(measured.begin() + s * measured_stride, measured.begin() + (s + 1) * measured_stride);
    t.assign(theory.begin() + s * theory_stride, theory.begin() + (s + 1) * theory_stride);
    std::sort(m.rbegin(), m.rend());
    std::sort(t.rbegin(), t.rend());
    for (int k = 0; k < k_max; ++k) {
      if (eigenvalues[k] <= 0) continue;
      worst = std::max(worst, std::abs(m[k] - t[k]) / std::sqrt(eigenvalues[k]));
    }
  }
  return worst;
}

double HalfwayTime(double lambda, double a0) {
  if (lambda <= 0 || a0 <= 0) return std::numeric_limits<double>::infinity();
  if (a0 >= lambda / 2) return 0;
  return std::log(lambda / a0 - 1) / lambda;
}

std::vector<double> DiscreteTheory(const std::vector<double>& lambda, const std::vector<double>& a0,
                                   const std::function<double(global_int_t)>& dtau,
                                   const std::vector<global_int_t>& record_steps, std::vector<double>* halfway) {
  const std::size_t n = std::min(lambda.size(), a0.size());
  std::vector<double> a(a0.begin(), a0.begin() + n), out;
  halfway->assign(n, std::numeric_limits<double>::infinity());
  for (std::size_t k = 0; k < n; ++k)
    if (lambda[k] > 0 && a[k] >= lambda[k] / 2) (*halfway)[k] = 0;
  global_int_t u = 0;
  double tau = 0;
  for (const global_int_t step : record_steps) {
    for (; u < step; ++u) {
      const double step_tau = dtau(u), eta = step_tau / 2;
      tau += step_tau;
      for (std::size_t k = 0; k < n; ++k) {
        const double before = a[k], g = 1 + eta * (lambda[k] - a[k]);
        a[k] *= g * g;
        // The crossing, interpolated linearly in tau within the step (as measured ones are).
        if (lambda[k] > 0 && a[k] >= lambda[k] / 2 && std::isinf((*halfway)[k]))
          (*halfway)[k] = tau - step_tau * (a[k] - lambda[k] / 2) / (a[k] - before);
      }
    }
    for (std::size_t k = 0; k < n; ++k) out.push_back(std::sqrt(a[k]));
  }
  return out;
}

std::vector<double> MeasuredHalfwayTimes(const std::vector<double>& mode_squares, int n, const std::vector<double>& tau,
                                         const std::vector<double>& eigenvalues) {
  n = std::min(n, static_cast<int>(eigenvalues.size()));
  const std::size_t records = std::min(tau.size(), n > 0 ? mode_squares.size() / n : 0);
  std::vector<double> out(std::max(n, 0), std::numeric_limits<double>::infinity());
  for (int k = 0; k < n; ++k) {
    const double target = eigenvalues[k] / 2;
    if (eigenvalues[k] <= 0) continue;
    double prev_tau = std::nan(""), prev = std::nan("");
    for (std::size_t r = 0; r < records; ++r) {
      const double now = mode_squares[r * n + k];
      if (std::isnan(now)) continue;
      if (now >= target) {
        out[k] = std::isnan(prev) ? tau[r] : prev_tau + (tau[r] - prev_tau) * (target - prev) / (now - prev);
        break;
      }
      prev_tau = tau[r];
      prev = now;
    }
  }
  return out;
}

double SwitchOnError(const std::vector<double>& measured, const std::vector<double>& theory, int n) {
  double worst = std::numeric_limits<double>::quiet_NaN();
  for (int k = 0; k < n && k < static_cast<int>(std::min(measured.size(), theory.size())); ++k) {
    if (!std::isfinite(measured[k]) || !std::isfinite(theory[k]) || theory[k] <= 0) continue;
    const double e = std::abs(measured[k] - theory[k]) / theory[k];
    worst = std::isnan(worst) ? e : std::max(worst, e);
  }
  return worst;
}

namespace {

constexpr double kChunkGrowth = 7.389;  // e^2

}  // namespace

CoupledTheory::CoupledTheory(std::vector<double> lambda, std::vector<double> projections,
                             const std::vector<double>& gram, int d)
    : d_(d), n_(static_cast<int>(lambda.size())), lambda_(std::move(lambda)), Y_(std::move(projections)) {
  if (Y_.size() != static_cast<std::size_t>(n_) * d || gram.size() != static_cast<std::size_t>(d) * d)
    throw std::runtime_error("CoupledTheory: projections or Gram matrix of the wrong size");
  // The rest of W0's Gram matrix, W0^T (I - V V^T) W0 = gram - Y^T Y, as R^T R with R =
  // diag(sqrt(mu)) E^T (d rows).
  std::vector<double> rest(gram);
  for (int k = 0; k < n_; ++k)
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) rest[i * d + j] -= Y_[k * d + i] * Y_[k * d + j];
  const std::vector<double> mu = SymmetricEigen(rest, d, "the coupled theory's initial Gram matrix");
  R_.assign(static_cast<std::size_t>(d) * d, 0.0);
  for (int j = 0; j < d; ++j) {
    const double s = std::sqrt(std::max(mu[j], 0.0));
    for (int i = 0; i < d; ++i) R_[j * d + i] = s * rest[j * d + i];
  }
  g_.assign(n_, 1.0);
  phi_.assign(n_, 0.0);
}

void CoupledTheory::Step(double dtau) {
  const double eta = dtau / 2;
  if (exact_) {
    ExactStep(eta);
    tau_ += dtau;
    return;
  }
  double largest = 0;
  for (int k = 0; k < n_; ++k) {
    const double h = 1 + eta * lambda_[k];
    // phi <- phi + g (r - 1) / lambda, g <- g r with r = h^2; (r - 1) / lambda = eta (2 + eta
    // lambda), also at lambda = 0.
    phi_[k] += g_[k] * eta * (2 + eta * lambda_[k]);
    g_[k] *= h * h;
    largest = std::max(largest, g_[k]);
  }
  phi_rest_ += dtau;
  tau_ += dtau;
  pending_ = true;
  // Chunks short enough that S stays well conditioned (no mode grows by more than e^2 in one).
  if (largest > kChunkGrowth) Flush();
}

// Y <- Y + eta (Lambda Y - Y G), R <- R - eta R G with G = W^T W = Y^T Y + R^T R; in the
// column-major layout of Flush (y_k and R's rows as columns of length d): y_k <- (1 + eta
// lambda_k) y_k - eta G y_k.
void CoupledTheory::ExactStep(double eta) {
  const int d = d_, n = n_;
  const double one = 1, zero = 0, minus_eta = -eta;
  std::vector<double> G(static_cast<std::size_t>(d) * d), T(Y_);
  dgemm_("N", "T", &d, &d, &d, &one, R_.data(), &d, R_.data(), &d, &zero, G.data(), &d);
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, Y_.data(), &d, Y_.data(), &d, &one, G.data(), &d);
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < d; ++j) Y_[k * d + j] *= 1 + eta * lambda_[k];
  if (n > 0) dgemm_("N", "N", &d, &n, &d, &minus_eta, G.data(), &d, T.data(), &d, &one, Y_.data(), &d);
  const std::vector<double> R(R_);
  dgemm_("N", "N", &d, &d, &d, &minus_eta, G.data(), &d, R.data(), &d, &one, R_.data(), &d);
}

// The chunk since the last flush, applied to W's rows in the eigenbasis: the solution above
// restarted from them (the flow composes: phi over two chunks is phi_1 + g_1 phi_2), Y <- G^1/2 Y
// L^-T with S = L L^T, the rest R <- R L^-T.
void CoupledTheory::Flush() {
  if (!pending_) return;
  const int d = d_, n = n_;
  // S = I + Y^T diag(phi) Y + phi_rest R^T R; row-major n x d rows are column-major d x n.
  std::vector<double> S(static_cast<std::size_t>(d) * d, 0.0), T(Y_);
  for (int i = 0; i < d; ++i) S[i * d + i] = 1;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < d; ++j) T[k * d + j] *= phi_[k];
  const double one = 1;
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, Y_.data(), &d, T.data(), &d, &one, S.data(), &d);
  dgemm_("N", "T", &d, &d, &d, &phi_rest_, R_.data(), &d, R_.data(), &d, &one, S.data(), &d);
  int info = 0;
  dpotrf_("L", &d, S.data(), &d, &info);  // column-major lower L
  if (info != 0) throw std::runtime_error("Cholesky failed in the coupled theory");
  // X = Y^T <- L^-1 X.
  if (n > 0) dtrsm_("L", "L", "N", "N", &d, &n, &one, S.data(), &d, Y_.data(), &d);
  dtrsm_("L", "L", "N", "N", &d, &d, &one, S.data(), &d, R_.data(), &d);
  for (int k = 0; k < n; ++k) {
    const double s = std::sqrt(g_[k]);
    for (int j = 0; j < d; ++j) Y_[k * d + j] *= s;
    g_[k] = 1, phi_[k] = 0;
  }
  phi_rest_ = 0;
  pending_ = false;
}

std::vector<double> CoupledTheory::ModeSquares(std::vector<double>* singular_values) {
  Flush();
  const int d = d_, n = n_;
  std::vector<double> a(n, 0.0);
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < d; ++j) a[k] += Y_[k * d + j] * Y_[k * d + j];
  if (singular_values) {
    std::vector<double> G(static_cast<std::size_t>(d) * d, 0.0);  // W^T W = Y^T Y + R^T R
    const double one = 1, zero = 0;
    dgemm_("N", "T", &d, &d, &d, &one, R_.data(), &d, R_.data(), &d, &zero, G.data(), &d);
    if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, Y_.data(), &d, Y_.data(), &d, &one, G.data(), &d);
    std::vector<double> w = SymmetricEigen(G, d, "the coupled theory's Gram matrix");
    singular_values->clear();
    for (int j = d - 1; j >= 0; --j) singular_values->push_back(std::sqrt(std::max(w[j], 0.0)));
  }
  return a;
}

std::vector<double> CoupledTheoryCurves(const CoupledTheory& start, const std::function<double(global_int_t)>& dtau,
                                        const std::vector<global_int_t>& record_steps, int n_halfway,
                                        std::vector<double>* halfway) {
  const std::vector<double>& lambda = start.eigenvalues();
  n_halfway = std::min(n_halfway, static_cast<int>(lambda.size()));
  halfway->assign(std::max(n_halfway, 0), std::numeric_limits<double>::infinity());
  std::vector<double> out, sv;
  CoupledTheory now = start, before = start;
  global_int_t u = 0, u_before = 0;
  std::vector<double> a_before = before.ModeSquares();  // nothing pending: no change to `before`
  for (int k = 0; k < n_halfway; ++k)
    if (lambda[k] > 0 && a_before[k] >= lambda[k] / 2) (*halfway)[k] = 0;
  for (const global_int_t step : record_steps) {
    for (; u < step; ++u) now.Step(dtau(u));
    const std::vector<double> a = now.ModeSquares(&sv);
    out.insert(out.end(), sv.begin(), sv.end());
    for (int k = 0; k < n_halfway; ++k) {
      if (!(lambda[k] > 0 && a[k] >= lambda[k] / 2 && std::isinf((*halfway)[k]))) continue;
      // The crossing lies in steps (u_before, u]: bisect for its step, then interpolate in tau.
      CoupledTheory lo = before;
      global_int_t lo_step = u_before, hi_step = u;
      double a_lo = a_before[k], a_hi = a[k], tau_hi = now.tau();
      while (hi_step - lo_step > 1) {
        const global_int_t mid = lo_step + (hi_step - lo_step) / 2;
        CoupledTheory probe = lo;
        for (global_int_t v = lo_step; v < mid; ++v) probe.Step(dtau(v));
        const double a_mid = probe.ModeSquares()[k];
        if (a_mid >= lambda[k] / 2) {
          hi_step = mid, a_hi = a_mid, tau_hi = probe.tau();
        } else {
          lo = probe, lo_step = mid, a_lo = a_mid;
        }
      }
      (*halfway)[k] = lo.tau() + (tau_hi - lo.tau()) * (lambda[k] / 2 - a_lo) / (a_hi - a_lo);
    }
    before = now, u_before = u, a_before = a;
  }
  return out;
}

}  // namespace qwem
