// Target matrices built from the distributed counts (SCIENCE.md section 2), all of the form
// "sparse + c 1 1^T", so that no dense V x V matrix is ever needed:
//   M*   : S_ij = 4 P_ij / (P_ij + nu P_i P_j) on the nonzeros of C, c = -2 (exact: M*_ij = -2
//          where P_ij = 0).
//   PPMI : max(log(P_ij / (P_i P_j)), 0) on the nonzeros of C, c = 0.
//   PMI  : log(P_ij / (P_i P_j)) where P_ij > 0; where P_ij = 0, PMI is -infinity, so it is
//          floored at the smallest PMI observed in the corpus: sparse part PMI_ij - floor on
//          the nonzeros, c = floor (unseen pairs count as the least associated seen pair).
// with P_ij = C_ij / (N (L+1)/2) and P_i = n_i / sum_k n_k over in-vocabulary tokens.
//
// Hyperwords' baselines (Levy, Goldberg & Dagan 2015; closed form only):
//   --shift k : PMI - log k in PMI and PPMI (shifted PPMI, max(PMI - log k, 0)).
//   --cds a   : context-distribution smoothing, P_a(j) = n_j^a / sum_k n_k^a in place of the
//               context's P_j. Hyperwords' matrix log(P_ij / (P_i P_a(j))) is not symmetric; a
//               symmetric eigensolver needs one, so P_i P_j becomes r_i r_j with r_i =
//               sqrt(P_i P_a(i)): log(P_ij / (r_i r_j)) is exactly the symmetric part of
//               hyperwords' PMI (the mean of it and its transpose), before the floor or the max.
//               M* uses the same r_i r_j in place of P_i P_j.
//
// The target is its entries on the counts' own nonzero pattern (no copy of the pattern); each
// consumer builds the form it needs: the block eigensolver its panels (block_operator.hpp),
// SLEPc and gd a PETSc matrix (AssembleTargetMatrix), the full spectrum a dense matrix.
#pragma once

#include <mpi.h>
#include <petscmat.h>

#include <functional>

#include "qwem/cooccurrence.hpp"
#include "qwem/memory.hpp"
#include "qwem/options.hpp"
#include "qwem/petsc_handle.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// The target as S (its entries on the counts' nonzeros) plus c 1 1^T, rows laid out like the counts.
struct Target {
  const CooccurrenceRows* pattern = nullptr;  // the counts (not owned): rows, columns, layout
  big_vector<double> values;                  // S on the pattern's nonzeros, in its CSR order
  double rank_one = 0;                        // c
  global_int_t nnz() const { return pattern ? pattern->nnz : 0; }
};

// Not collective. r_i of --cds alpha (above): sqrt(P_i n_i^alpha / sum_k n_k^alpha); P_i
// itself for alpha = 1.
std::vector<double> ContextMarginals(const std::vector<double>& unigram, const std::vector<global_int_t>& counts,
                                     double alpha);

// Collective. The target of options.kind (with nu, cds, shift) from the counts (which must
// outlive it) and the vocabulary's unigram counts (pair_stats.hpp). Throws qwem::Error for a
// corpus without co-occurring pairs.
Target BuildTarget(MPI_Comm comm, const CooccurrenceRows& counts, const Vocabulary& vocab,
                   const TargetOptions& options);

// Collective. ||S + c 1 1^T||_F^2 of the target.
double TargetNormSquared(MPI_Comm comm, const Target& target);

// Collective. A MATAIJ matrix on the nonzero pattern of C, with the row layout of `rows` (also
// the column layout), preallocated exactly; entry (i, j) is value(i, j, k) for the k-th stored
// entry of this rank.
PetscErrorCode AssembleOnPattern(MPI_Comm comm, const CooccurrenceRows& rows,
                                 const std::function<double(global_int_t row, word_id_t col, global_int_t k)>& value,
                                 OwnedMat* A);

// Collective. S as a symmetric MATAIJ (for SLEPc's operator and gd's products).
PetscErrorCode AssembleTargetMatrix(MPI_Comm comm, const Target& target, OwnedMat* S);

// Collective. A MATSHELL applying y = S x + c (1^T x) 1 with MatMult (symmetric, so also
// MatMultTranspose), counting its applications; it keeps its own reference to S.
PetscErrorCode CreateTargetOperator(Mat S, double rank_one, OwnedMat* op);
PetscErrorCode GetOperatorApplications(Mat op, PetscInt* count);

// Collective. The target as an explicit MATDENSE (S + c 1 1^T), for small V or cross-checks.
PetscErrorCode CreateDenseTarget(MPI_Comm comm, const Target& target, OwnedMat* dense);

}  // namespace qwem
