// Top eigenpairs of a symmetric operator with SLEPc (SCIENCE.md section 3) and the closed-form
// embeddings W = [v_1 .. v_d] diag(max(lambda, 0)^p).
#pragma once

#include <petscmat.h>

#include <optional>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/options.hpp"
#include "qwem/target.hpp"

namespace qwem {

struct EigenResult {
  std::vector<double> eigenvalues;  // d, descending
  std::vector<double> residuals;    // ||A v - lambda v|| / |lambda| per pair (EPSComputeError, relative)
  global_int_t row_begin = 0, row_end = 0;
  std::vector<double> vectors;  // this rank's rows of [v_1 .. v_d], row-major (rows x d)
  PetscInt n_converged = 0;
  PetscInt n_restarts = 0;  // EPSGetIterationNumber: outer iterations (restarts)
  PetscInt n_matvecs = -1;  // operator applications (-1 if the operator does not count)
  std::string solver;       // EPS type as configured after -eps_* options
  double tol = 0;
  PetscInt ncv = 0;
  int stop_signal = 0;  // the solve was ended by this signal (interruptible solves only)
  int dim() const { return static_cast<int>(eigenvalues.size()); }
};

// Collective. Krylov-Schur for the options.dim largest algebraic eigenpairs of the symmetric
// operator op, set in code and then overridable from the options database (EPSSetFromOptions
// last: -eps_nev, -eps_ncv, -eps_type, -eps_tol, -eps_view, ...). Eigenvectors are normalized
// and signed so that their largest-magnitude entry is positive, which makes them identical
// across rank counts. A progress line (restart, pairs converged, operator products and their
// rate) at most every progress.seconds. result->n_converged may be below dim: the caller
// decides (qwem-dist fails clearly).
PetscErrorCode SolveTopEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress,
                                  EigenResult* result, bool interruptible = false);

// Collective. SolveTopEigenpairs as a stage: throws qwem::Error on every rank if fewer than
// options.dim pairs converged, naming the options to change. With `interruptible`, a stop
// signal (signals.hpp) ends the solve at its next restart, on every rank together, and the
// result says so (stop_signal) instead of failing.
EigenResult ComputeEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress,
                              bool interruptible = false);

// Collective. Every eigenvalue of the explicit (dense) symmetric matrix A, descending: the full
// spectrum, for plots. SLEPc's LAPACK solver (redundant on every rank: 8 V^2 bytes per rank);
// options prefix "full_" (-full_eps_type ...). SLEPc 3.18's ScaLAPACK solver stops on this
// matrix with "Cannot retrieve original matrices (have been modified)", so it is not the default.
PetscErrorCode SolveFullSpectrum(Mat A, std::vector<double>* eigenvalues);

// Not collective. This rank's rows of W = V diag(max(lambda, 0)^power), row-major (rows x d).
std::vector<double> ComputeEmbeddings(const EigenResult& eig, double power);

// Collective. Every eigenvalue of the target, descending (SolveFullSpectrum on its explicit
// dense matrix, built and freed here).
std::vector<double> ComputeFullSpectrum(const Target& target);

// Embeddings as a stage's result: this rank's rows, and how they were made (for /embeddings).
struct Embeddings {
  std::vector<double> data;  // rows [row_begin, row_end), row-major, dim columns
  global_int_t row_begin = 0, row_end = 0, n_words = 0;
  int dim = 0;
  std::string formula;
  std::optional<double> eig_power;  // the closed form's p
  LocalRows rows() const { return {data.data(), row_begin, row_end, n_words, dim}; }
};

// Not collective. The closed-form embeddings W = V diag(max(lambda, 0)^power) of this rank's rows.
Embeddings ClosedFormEmbeddings(const EigenResult& eig, double power, global_int_t n_words);

// This rank's rows of the eigenvectors, as a view.
inline LocalRows EigenvectorRows(const EigenResult& eig, global_int_t n_words) {
  return {eig.vectors.data(), eig.row_begin, eig.row_end, n_words, eig.dim()};
}

}  // namespace qwem
