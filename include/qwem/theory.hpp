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

// The coupled theory: the flow dW/dtau = (M* - W W^T) W / 2 (the continuous curves' flow, mode by
// mode da/dtau = lambda a - a^2) solved from W0 itself rather than mode by mode. Its Gram matrix
// Q = W W^T obeys the matrix Riccati equation dQ/dtau = (M Q + Q M) / 2 - Q^2, solved exactly by
//
//     Q(tau) = F S^-1 F^T,   F = exp(M tau / 2) W0,   S = I_d + W0^T (int_0^tau exp(M s) ds) W0
//
// (differentiate: dF = M F / 2, dS = F^T F). In M*'s eigenbasis, with c_k = W0^T v_k, g_k =
// exp(lambda_k tau) and phi_k = (g_k - 1) / lambda_k, mode k's a_k = v_k^T Q v_k = g_k c_k S^-1 c_k^T
// where S = I + sum_k phi_k c_k c_k^T: the decoupled curve when the c_k are orthogonal, and
// otherwise the modes compete for W's d directions (the Gram-Schmidt a_0 approximates this).
// Only n eigenpairs are known: the rest of W0 (Gram W0^T W0 - sum c_k c_k^T) is one block with
// eigenvalue 0 (it neither grows nor decays; it only competes), so the theory is best with n
// above the modes compared (--theory-modes). Finite steps: g_k is stepped as g <- g (1 + eta'
// lambda)^2 (eta' = dtau / 2, the discrete curve's growth) with phi_k = (g_k - 1) / lambda_k
// still, so that a_k tends to lambda_k; at small steps this is the exact flow above.
// Numerically W's rows in the eigenbasis, Y (n x d) and the rest R (d x d), are carried from
// chunk to chunk of steps (the solution composes: phi over two chunks is phi_1 + g_1 phi_2), each
// chunk short enough for S to be well conditioned: Y <- G^1/2 Y L^-T with S = L L^T, R <- R L^-T.
// Then a_k = ||y_k||^2 and W's singular values are those of [Y; R].
// Exact steps (UseExactSteps): each step is the gradient step itself, W <- W + eta' (M - W W^T) W
// on Y and R (M of rank n, so the rest only shrinks), exact at any step size but O((n + d) d^2)
// per step; the chunked solution's growth per step is exact only while W is small, and at eta'
// lambda_1 = 0.2 it is 1% off near saturation.
class CoupledTheory {
 public:
  // lambda: n eigenvalues; projections: n x d (row k = W0^T v_k); gram: W0^T W0 (d x d).
  CoupledTheory(std::vector<double> lambda, std::vector<double> projections, const std::vector<double>& gram, int d);
  // Multiply-adds of one exact step for n modes and d dimensions.
  static double ExactStepCost(int n, int d) { return (2.0 * n + 2.0 * d) * d * d; }
  void UseExactSteps(bool exact) {
    Flush();
    exact_ = exact;
  }
  bool exact_steps() const { return exact_; }
  void Step(double dtau);  // one step of the run (dtau: its increment of tau)
  double tau() const { return tau_; }
  const std::vector<double>& eigenvalues() const { return lambda_; }
  // a_k for the n modes now, and (if singular_values) W's d singular values, descending.
  std::vector<double> ModeSquares(std::vector<double>* singular_values = nullptr);

 private:
  void Flush();
  void ExactStep(double eta);
  int d_, n_;
  std::vector<double> lambda_;
  std::vector<double> Y_, R_;      // W in the eigenbasis at the last flush: n x d, and the rest (d x d)
  std::vector<double> g_, phi_;    // per mode, since the last flush: g_k and phi_k
  double phi_rest_ = 0, tau_ = 0;  // the rest's phi (eigenvalue 0: its tau), tau since the start
  bool pending_ = false;
  bool exact_ = false;
};

// The coupled theory along a run: stepped by dtau(u) over steps 0 .. record_steps.back(); W's
// singular values at each record step (records x d), and in *halfway the tau at which a_k of each
// of the first n_halfway modes first reaches lambda_k / 2, located to the step and interpolated
// linearly in tau within it (infinity if not by the last record step).
std::vector<double> CoupledTheoryCurves(const CoupledTheory& start, const std::function<double(global_int_t)>& dtau,
                                        const std::vector<global_int_t>& record_steps, int n_halfway,
                                        std::vector<double>* halfway);

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
