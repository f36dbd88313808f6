// The closed-form learning curves of SCIENCE.md section 4. Under gradient flow on
// ||M* - W W^T||_F^2 / V^2 from small initialization, the squared singular value a_k = s_k^2 of
// mode k follows the logistic
//
//     a_k(tau) = exp(lambda_k tau) / (1/a_0 + (exp(lambda_k tau) - 1) / lambda_k)
//
// in the rescaled time tau (gd: tau = 8 eta t / V^2), switching on near
// tau_k = ln(lambda_k / a_0) / lambda_k. Modes with lambda_k <= 0 decay (the formula covers them).
//
// For finite steps, the decoupled mode follows the recurrence a <- a (1 + eta' (lambda - a))^2
// per step, eta' = dtau / 2 of that step (gd: 4 eta / V^2; sgd-qwem's expected step is gd's):
// its growth per step, (1 + eta' lambda)^2, is below exp(lambda dtau), so modes switch on later
// by about ln(1 + eta' lambda) / (eta' lambda); the discrete curve is the theory for that case.
// A mode is "on" once a_k reaches lambda_k / 2; the continuous curve gets there at
// ln(lambda_k / a_0 - 1) / lambda_k.
#pragma once

#include <functional>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// a_k(tau) for one mode; numerically safe for large lambda tau and for lambda <= 0.
double TheorySquaredSingularValue(double lambda, double a0, double tau);

// tau_k = ln(lambda / a0) / lambda, the switch-on time of a mode (infinity if lambda <= a0).
double SwitchOnTime(double lambda, double a0);

// The tau at which the continuous a_k(tau) reaches lambda / 2: ln(lambda / a0 - 1) / lambda (0 if
// a0 >= lambda / 2, infinity for lambda <= 0).
double HalfwayTime(double lambda, double a0);

// The discrete theory, mode by mode: a_k stepped by the recurrence above from a0[k] at step 0,
// with dtau(u) the increment of tau over step u -> u + 1 (tau(0) = 0). Returns sqrt(a_k) at each of `record_steps`
// (ascending; records x n_modes, row-major), and in *halfway the tau at which a_k first reaches
// lambda_k / 2, interpolated linearly within that step (infinity if not by the last record step).
std::vector<double> DiscreteTheory(const std::vector<double>& lambda, const std::vector<double>& a0,
                                   const std::function<double(global_int_t)>& dtau,
                                   const std::vector<global_int_t>& record_steps, std::vector<double>* halfway);

// Measured switch-on times: from each mode's own squared size a_k at each record (records x n,
// row-major; SpectrumSnapshot::mode_squares), the tau at which a_k first reaches lambda_k / 2, interpolated linearly
// in tau between the two records around the crossing; infinity if never (NaN records skipped).
std::vector<double> MeasuredHalfwayTimes(const std::vector<double>& mode_squares, int n, const std::vector<double>& tau,
                                         const std::vector<double>& eigenvalues);

// The largest relative error |measured - theory| / theory over the modes of the top n that
// switched on in both (NaN if none did).
double SwitchOnError(const std::vector<double>& measured, const std::vector<double>& theory, int n);

// The theory's max error (lower is better): max over the samples of |s_measured_k - s_theory_k| / sqrt(lambda_k)
// over the top n_modes with lambda_k > 0, both sorted descending at each sample (singular values
// carry no mode labels). Arrays are n_samples x stride, row-major.
double TheoryMaxError(const std::vector<double>& measured, int measured_stride, const std::vector<double>& theory,
                      int theory_stride, const std::vector<double>& eigenvalues, int n_modes);

}  // namespace qwem
