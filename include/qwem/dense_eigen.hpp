// Dense eigensolves of the target with ScaLAPACK, called directly: the explicit matrix
// S + c 1 1^T is built in a 2D block-cyclic copy (each stored entry of S sent once to the
// process that holds it; the constant c written locally), and pdsyevr (MRRR) computes every
// eigenvalue (the full spectrum) or the top d eigenpairs, whose eigenvectors then return to the
// counts' row layout. Memory: 8 V^2 / P bytes per rank for the matrix, as much again for the
// eigenvectors, and ScaLAPACK's work space (measured: 5 and 6.5 times 8 V^2 / P in all). For
// many eigenpairs (the paper's linear-representation analysis goes to 4,096 at
// V = 10k) and for the full spectrum this is the distributed path; for a few hundred the block
// solver is faster (README, Closed form).
#pragma once

#include <mpi.h>

#include <vector>

#include "qwem/common.hpp"
#include "qwem/target.hpp"

namespace qwem {

struct DenseEigenpairs {
  std::vector<double> eigenvalues;              // descending (all V, or the top d)
  std::vector<double> vectors;                  // the top d: this rank's rows of the counts' layout, row-major
  int grid_rows = 0, grid_cols = 0, block = 0;  // the BLACS grid and the block-cyclic block size
};

// Not collective. Bytes per rank a dense solve needs: the matrix, the eigenvectors if any, and
// ScaLAPACK's work space (an estimate).
double DenseEigenBytesPerRank(global_int_t V, int ranks, bool vectors);

// Collective. Every eigenvalue of the target (d = 0), or its top d eigenpairs (d > 0), by
// ScaLAPACK's pdsyevr on a near-square process grid. Eigenvectors are signed like the other
// solvers' (largest-magnitude entry positive).
DenseEigenpairs SolveDense(MPI_Comm comm, const Target& target, int d);

}  // namespace qwem
