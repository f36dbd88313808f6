// Top eigenpairs of the target (SCIENCE.md section 3) and the closed-form embeddings
// W = [v_1 .. v_d] diag(max(lambda, 0)^p).
//
// Three solvers (--eigensolver): qwem-dist's block Lanczos on block products (block_lanczos.hpp,
// the default), SLEPc's EPS on a PETSc operator (Krylov-Schur unless -eps_type says otherwise),
// both on the operator the cost model chooses (sparse + rank one, or the explicit dense matrix);
// and ScaLAPACK's dense pdsyevr (dense_eigen.hpp), for many eigenpairs. All return eigenvectors
// signed the same way.
#pragma once

#include <petscmat.h>

#include <optional>
#include <string>
#include <vector>

#include "qwem/block_lanczos.hpp"
#include "qwem/block_operator.hpp"
#include "qwem/common.hpp"
#include "qwem/options.hpp"
#include "qwem/target.hpp"

namespace qwem {

struct EigenResult {
  std::vector<double> eigenvalues;  // d, descending
  std::vector<double> residuals;    // ||A v - lambda v|| / |lambda| per pair (see residual_kind)
  std::string residual_kind;        // how the residuals were obtained
  global_int_t row_begin = 0, row_end = 0;
  std::vector<double> vectors;  // this rank's rows of [v_1 .. v_d], row-major (rows x d)
  OperatorChoice op;            // the operator the solver saw
  PetscInt n_converged = 0;
  PetscInt n_restarts = 0;             // restarts (SLEPc: EPSGetIterationNumber, outer iterations)
  global_int_t n_matvecs = -1;         // column products (-1 if the operator does not count them)
  global_int_t n_double_products = 0;  // block solver: of them in double precision
  int refined = 0;                     // block solver: pairs iterated again in double precision
  std::string solver;                  // "block-lanczos" or the EPS type after -eps_* options
  std::string precision;               // block solver: of the Krylov products
  double tol = 0;
  PetscInt ncv = 0;
  int block = 0;                                  // block solver: columns per block product
  BlockLanczosTimes times;                        // block solver: where the time went (rank 0)
  int projections = 0, repeated_projections = 0;  // block solver: Gram-Schmidt passes
  int stop_signal = 0;                            // the solve was ended by this signal (interruptible solves only)
  int dim() const { return static_cast<int>(eigenvalues.size()); }
};

// Collective. The options.dim largest algebraic eigenpairs of the target, by options.solver, on
// the operator `op` asks for (auto: the cost model). Eigenvectors are normalized and signed so
// that their largest-magnitude entry is positive (the lowest index on ties), which makes them
// the same across rank counts. A progress line at most every progress.seconds. With
// `interruptible`, a stop signal (signals.hpp) ends the solve at its next restart, on every rank
// together, and the result says so (stop_signal); otherwise fewer than options.dim converged
// pairs throw qwem::Error on every rank, naming the options to change.
EigenResult ComputeEigenpairs(MPI_Comm comm, const Target& target, const EigenOptions& options, OperatorKind op,
                              const ProgressLines& progress, bool interruptible = false);

// Collective. SLEPc's part of ComputeEigenpairs on a given operator: Krylov-Schur for the
// options.dim largest algebraic eigenpairs of the symmetric op, set in code and then overridable
// from the options database (EPSSetFromOptions last: -eps_nev, -eps_ncv, -eps_type, -eps_tol,
// -eps_view, ...). Residuals are SLEPc's own estimates (EPSGetErrorEstimate): no extra products.
// result->n_converged may be below dim.
PetscErrorCode SolveTopEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress,
                                  EigenResult* result, bool interruptible = false);

// Collective. Every eigenvalue of the target, descending (ScaLAPACK on its explicit matrix,
// dense_eigen.hpp).
std::vector<double> ComputeFullSpectrum(MPI_Comm comm, const Target& target);

// Collective. Refuses (qwem::Error on every rank) a dense solve whose matrices would not fit the
// node's memory: eigenpairs by ScaLAPACK (vectors), or the full spectrum.
void CheckEigenMemory(MPI_Comm comm, bool vectors, bool full_spectrum, global_int_t V);

// Collective. Signs the d columns of this rank's rows (row-major, rows x d, rows starting at
// global row row_begin) so that each column's largest-magnitude entry is positive (the lowest
// global index among equal magnitudes).
void NormalizeSigns(MPI_Comm comm, global_int_t row_begin, global_int_t n_rows, int d, double* rows);

// Not collective. This rank's rows of W = V diag(max(lambda, 0)^power), row-major (rows x d).
std::vector<double> ComputeEmbeddings(const EigenResult& eig, double power);

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
