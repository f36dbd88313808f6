// Top eigenpairs of a symmetric operator with SLEPc (SCIENCE.md section 3) and the closed-form
// embeddings W = [v_1 .. v_d] diag(max(lambda, 0)^p).
#pragma once

#include <petscmat.h>

#include <functional>
#include <string>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

struct EigenOptions {
  int dim = 200;        // d: eigenpairs wanted, largest algebraic first
  double tol = 1e-8;    // relative residual tolerance (overridable: -eps_tol)
  // Progress while solving: report(line) at most every report_seconds (0: never), with the
  // restart, the pairs converged, the operator products and their rate. Not collective.
  std::function<void(const std::string&)> report;
  double report_seconds = 0;
};

struct EigenResult {
  std::vector<double> eigenvalues;  // d, descending
  std::vector<double> residuals;    // ||A v - lambda v|| / |lambda| per pair (EPSComputeError, relative)
  global_int_t row_begin = 0, row_end = 0;
  std::vector<double> vectors;      // this rank's rows of [v_1 .. v_d], row-major (rows x d)
  PetscInt n_converged = 0;
  PetscInt n_restarts = 0;          // EPSGetIterationNumber: outer iterations (restarts)
  PetscInt n_matvecs = -1;          // operator applications (-1 if the operator does not count)
  std::string solver;               // EPS type as configured after -eps_* options
  double tol = 0;
  PetscInt ncv = 0, mpd = 0;
  int dim() const { return static_cast<int>(eigenvalues.size()); }
};

// Collective. Krylov-Schur for the `dim` largest algebraic eigenpairs of the symmetric operator
// op, set in code and then overridable from the options database (EPSSetFromOptions last:
// -eps_nev, -eps_ncv, -eps_type, -eps_tol, -eps_view, ...). Eigenvectors are normalized and signed so that their
// largest-magnitude entry is positive, which makes them identical across rank counts.
// result->n_converged may be below dim: the caller decides (qwem-dist fails clearly).
PetscErrorCode SolveTopEigenpairs(Mat op, const EigenOptions& options, EigenResult* result);

// Collective. Every eigenvalue of the explicit (dense) symmetric matrix A, descending: the full
// spectrum, for plots. SLEPc's LAPACK solver (redundant on every rank: 8 V^2 bytes per rank);
// options prefix "full_" (-full_eps_type ...). SLEPc 3.18's ScaLAPACK solver stops on this
// matrix with "Cannot retrieve original matrices (have been modified)", so it is not the default.
PetscErrorCode SolveFullSpectrum(Mat A, std::vector<double>* eigenvalues);

// Not collective. This rank's rows of W = V diag(max(lambda, 0)^power), row-major (rows x d).
std::vector<double> ComputeEmbeddings(const EigenResult& eig, double power);

}  // namespace qwem
