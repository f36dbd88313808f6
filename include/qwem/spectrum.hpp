// What the dynamics record of W as it trains (SCIENCE.md section 4), beside the theory's curves
// (theory.hpp): its singular values, the overlap of its top singular subspaces with M*'s
// eigenvectors, and each mode's initial condition a_0.
#pragma once

#include <mpi.h>

#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// Collective. Singular values of W (all d, descending: square roots of the eigenvalues of the
// all-reduced d x d Gram matrix) and, if eigenvectors are given (rows in W's layout, row-major
// with n_eigenvectors columns), the overlap of W's top-k left singular subspace with the top-k
// eigenvectors, ||U_k^T V_k||_F^2 / k, for k = 1 .. overlap_k, and ||W^T v_k||^2 for the first
// mode_k eigenvectors: mode k's own squared size, labelled by its eigenvector (sorted singular
// values carry no mode labels; it tends to lambda_k once the mode is learned). One projection
// W^T V serves both. Throws qwem::Error on every rank if W is not finite.
struct SpectrumSnapshot {
  std::vector<double> singular_values;
  std::vector<double> overlap;       // overlap[k-1] for the top-k subspaces
  std::vector<double> mode_squares;  // ||W^T v_k||^2, k < mode_k
};
SpectrumSnapshot MeasureSpectrum(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                 int overlap_k, int mode_k = 0);

// Collective. a_0 per mode, the initial condition of mode k in the theory, for the first n modes:
// the squared norm of u_k = W^T v_k after removing its components along u_1 .. u_{k-1}. Modes
// are learned in eigenvalue order and each claims its direction of R^d, so mode k grows from
// what is left (with d columns, modes beyond d get a_0 = 0 and are never learned).
std::vector<double> ProjectedSquares(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                     int n);

// Collective. What the coupled theory (theory.hpp) starts from: W0^T v_k for every given
// eigenvector (n_eigenvectors x d, row k for v_k) and W0's Gram matrix W0^T W0 (d x d).
struct InitialProjections {
  std::vector<double> projections, gram;
};
InitialProjections ProjectInitialRows(MPI_Comm comm, const LocalRows& W, const double* eigenvectors,
                                      int n_eigenvectors);

}  // namespace qwem
