// A block eigensolver whose cost per column is a block product: thick-restart block Lanczos
// (block Krylov-Schur for a symmetric operator; Zhou & Saad 2008, Baglama, Calvetti & Reichel
// 2003) for the nev largest algebraic eigenpairs of A (block_operator.hpp).
//
// The basis grows b columns at a time: W = A Q_j, orthogonalized against the whole basis by
// classical Gram-Schmidt twice (two dgemm and one MPI_Allreduce per pass), then orthonormalized
// by CholQR2 (Cholesky of W^T W, twice), with a column-by-column fallback that replaces a
// numerically dependent column by a random one. The projection coefficients give the Rayleigh
// quotient T = Q^T A Q. When the basis holds ncv columns, rank 0 diagonalizes T and broadcasts
// the Ritz pairs (so that every rank rotates its rows by the same numbers); the Ritz residual
// ||A x - theta x|| is ||R y_last|| (R: the next block's coefficients). Converged leading pairs
// are locked (kept, orthogonalized against, no longer iterated); the next wanted Ritz vectors and
// the next block are kept, the rest discarded (thick restart).
//
// Precision: with Precision::kSingle the Krylov products are single precision (block_kernel.hpp),
// so the pairs converge for a matrix within about 1e-7 of A. The locked pairs are then checked
// with double-precision products (nev / b block products, not nev). If some fail the tolerance,
// or fewer than nev converged within single_products (single precision can stall short of a
// tolerance near its rounding), the solve goes on with double-precision products: the passing
// pairs stay locked, and the failing ones and the best unconverged Ritz vectors start the basis.
// The residuals returned are double-precision ones.
//
// Random numbers are counter-based and keyed by global row: the start is the same on any rank
// count, and the result differs across rank counts only by rounding.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "qwem/block_operator.hpp"
#include "qwem/common.hpp"

namespace qwem {

struct BlockLanczosOptions {
  int nev = 200;
  int ncv = 0;        // largest basis, locked pairs included (0: automatic, see ResolvedBasisSize)
  double tol = 1e-4;  // on the relative residual ||A x - theta x|| / |theta|
  Precision precision = Precision::kSingle;  // of the Krylov products (the check is in double)
  global_int_t max_products = 0;             // column products before giving up (0: 200 ncv)
  global_int_t single_products = 0;          // of them at most this many in single precision (0: half)
  std::uint64_t seed = 1;
};

// The basis size a solve uses: ncv if given, else max(5 nev / 2, nev + 8 b), at most V - b.
// Measured on Gutenberg (V = 10k, blocks of 32): d = 200 took 2.9k products with 500 columns,
// d = 300 3.6k with 750; at d = 100, 250 columns took 4.5k products and 350 took 1.8k (with too
// small a basis a restart leaves room for few blocks and pairs lock slowly: hence nev + 8 b).
int ResolvedBasisSize(const BlockLanczosOptions& options, int b, global_int_t n_global);
// Whether that basis has room for the nev pairs and two blocks (else the problem is too small
// for blocks of b: V < nev + 3 b by default; a dense solver is the tool there).
bool BlockLanczosFits(const BlockLanczosOptions& options, int b, global_int_t n_global);

// Where a solve spent its time (seconds on this rank).
struct BlockLanczosTimes {
  double products = 0;       // block products (Apply: gather, kernel, rank one)
  double orthogonalize = 0;  // Gram-Schmidt against the basis
  double normalize = 0;      // CholQR2 and its fallback
  double rayleigh_ritz = 0;  // diagonalizing T (rank 0) and broadcasting the Ritz pairs
  double rotate = 0;         // the basis times the kept Ritz vectors
  double verify = 0;         // the double-precision check (its products included)
};

struct BlockLanczosResult {
  std::vector<double> eigenvalues;  // converged pairs, descending
  std::vector<double> residuals;    // ||A x - theta x|| / |theta|, double-precision products
  std::vector<double> vectors;      // this rank's rows, n_local x n_converged, column-major
  int n_converged = 0;
  int restarts = 0;
  int ncv = 0;
  global_int_t products = 0, double_products = 0;  // column products (b per block product)
  int refined = 0;                                 // pairs iterated again in double precision
  int replaced_columns = 0;                        // dependent basis columns replaced by random ones
  int projections = 0, repeated_projections = 0;   // Gram-Schmidt of a block, and how often done twice
  int stop_signal = 0;                             // the solve was ended by this signal
  BlockLanczosTimes times;
};

// Called at every restart (collective context; rank 0 may print): restarts so far, pairs
// converged, column products.
using RestartMonitor = std::function<void(int restart, int converged, global_int_t products)>;
// Collective: a stop signal agreed by all ranks (0: go on), asked at every restart.
using StopTest = std::function<int()>;

// Collective. The options.nev largest eigenpairs of A (fewer if max_products ran out or a stop
// signal came: the result says how many converged). Throws qwem::Error if !BlockLanczosFits.
BlockLanczosResult SolveBlockLanczos(MPI_Comm comm, BlockOperator& A, const BlockLanczosOptions& options,
                                     const RestartMonitor& monitor = nullptr, const StopTest& stop = nullptr);

}  // namespace qwem
