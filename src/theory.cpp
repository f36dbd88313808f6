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

double TheoryAgreement(const std::vector<double>& measured, int measured_stride, const std::vector<double>& theory,
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

}  // namespace qwem
