#include "qwem/theory.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

}  // namespace qwem
