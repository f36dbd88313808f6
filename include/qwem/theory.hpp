// The closed-form learning curves of SCIENCE.md section 4. Under gradient flow on
// ||M* - W W^T||_F^2 / V^2 from small initialization, the squared singular value a_k = s_k^2 of
// mode k follows the logistic
//
//     a_k(tau) = exp(lambda_k tau) / (1/a_0 + (exp(lambda_k tau) - 1) / lambda_k)
//
// in the rescaled time tau (gd: tau = 8 eta t / V^2), switching on near
// tau_k = ln(lambda_k / a_0) / lambda_k. Modes with lambda_k <= 0 decay (the formula covers them).
#pragma once

#include <vector>

namespace qwem {

// a_k(tau) for one mode; numerically safe for large lambda tau and for lambda <= 0.
double TheorySquaredSingularValue(double lambda, double a0, double tau);

// tau_k = ln(lambda / a0) / lambda, the switch-on time of a mode (infinity if lambda <= a0).
double SwitchOnTime(double lambda, double a0);

// The agreement figure: max over the samples of |s_measured_k - s_theory_k| / sqrt(lambda_k)
// over the top n_modes with lambda_k > 0, both sorted descending at each sample (singular values
// carry no mode labels). Arrays are n_samples x stride, row-major.
double TheoryAgreement(const std::vector<double>& measured, int measured_stride, const std::vector<double>& theory,
                       int theory_stride, const std::vector<double>& eigenvalues, int n_modes);

}  // namespace qwem
