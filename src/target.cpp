#include "qwem/target.hpp"

#include <cmath>
#include <limits>

#include "qwem/pair_stats.hpp"

namespace qwem {

std::vector<double> ContextMarginals(const std::vector<double>& unigram, const std::vector<global_int_t>& counts,
                                     double alpha) {
  if (alpha == 1.0) return unigram;
  double total = 0;
  for (global_int_t n : counts) total += std::pow(static_cast<double>(n), alpha);
  std::vector<double> r(unigram.size());
  for (std::size_t i = 0; i < r.size(); ++i)
    r[i] = std::sqrt(unigram[i] * std::pow(static_cast<double>(counts[i]), alpha) / total);
  return r;
}

Target BuildTarget(MPI_Comm comm, const CooccurrenceRows& counts, const Vocabulary& vocab,
                   const TargetOptions& options) {
  if (counts.n_words != vocab.size()) throw std::logic_error("BuildTarget: counts and vocabulary sizes differ");
  RequireCooccurringPairs(counts);
  const PairStatistics stats(counts, vocab);
  const std::vector<double> r = ContextMarginals(stats.unigram, vocab.counts, options.cds);
  const double log_shift = std::log(options.shift);
  Target target;
  target.pattern = &counts;
  target.values.resize(counts.values.size());
  // Each stored entry's value; PMI then subtracts its floor, the global minimum.
  for (global_int_t row = 0; row < counts.n_local_rows(); ++row)
    for (global_int_t k = counts.row_ptr[row]; k < counts.row_ptr[row + 1]; ++k) {
      const double p = stats.Pij(counts.values[k]), q = r[counts.row_begin + row] * r[counts.cols[k]];
      switch (options.kind) {
        case TargetKind::kMStar:
          target.values[k] = MStarSparseEntry(p, q, options.nu);
          break;
        case TargetKind::kPPMI:
          target.values[k] = std::max(std::log(p / q) - log_shift, 0.0);  // shifted PPMI
          break;
        case TargetKind::kPMI:
          target.values[k] = std::log(p / q) - log_shift;
          break;
      }
    }
  if (options.kind == TargetKind::kMStar) target.rank_one = kMStarRankOne;
  if (options.kind == TargetKind::kPMI) {
    double local_min = std::numeric_limits<double>::infinity();
    for (double v : target.values) local_min = std::min(local_min, v);
    QWEM_MPI(MPI_Allreduce(&local_min, &target.rank_one, 1, MPI_DOUBLE, MPI_MIN, comm));
    for (double& v : target.values) v -= target.rank_one;
  }
  return target;
}

double TargetNormSquared(MPI_Comm comm, const Target& target) {
  return SparsePlusRankOneNormSquared(comm, target.values.data(), target.values.size(), target.rank_one,
                                      target.pattern->n_words);
}

PetscErrorCode AssembleOnPattern(MPI_Comm comm, const CooccurrenceRows& rows,
                                 const std::function<double(global_int_t, word_id_t, global_int_t)>& value,
                                 OwnedMat* A) {
  PetscFunctionBeginUser;
  PetscCheck(rows.n_words <= PETSC_MAX_INT, comm, PETSC_ERR_SUP, "V = %lld exceeds PetscInt",
             static_cast<long long>(rows.n_words));
  const auto m = static_cast<PetscInt>(rows.n_local_rows());
  const auto V = static_cast<PetscInt>(rows.n_words);
  std::vector<PetscInt> d_nnz(m, 0), o_nnz(m, 0);
  for (PetscInt r = 0; r < m; ++r)
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k)
      (rows.cols[k] >= rows.row_begin && rows.cols[k] < rows.row_end ? d_nnz : o_nnz)[r]++;
  PetscCall(MatCreate(comm, A->out()));
  PetscCall(MatSetSizes(*A, m, m, V, V));
  PetscCall(MatSetType(*A, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(*A, 0, d_nnz.data()));
  PetscCall(MatMPIAIJSetPreallocation(*A, 0, d_nnz.data(), 0, o_nnz.data()));
  PetscCall(MatSetOption(*A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  std::vector<PetscInt> cols;
  std::vector<PetscScalar> vals;
  for (PetscInt r = 0; r < m; ++r) {
    const global_int_t row = rows.row_begin + r;
    cols.clear();
    vals.clear();
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k) {
      cols.push_back(rows.cols[k]);
      vals.push_back(value(row, rows.cols[k], k));
    }
    const auto grow = static_cast<PetscInt>(row);
    PetscCall(MatSetValues(*A, 1, &grow, static_cast<PetscInt>(cols.size()), cols.data(), vals.data(), INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

PetscErrorCode AssembleTargetMatrix(MPI_Comm comm, const Target& target, OwnedMat* S) {
  PetscFunctionBeginUser;
  PetscCall(AssembleOnPattern(
      comm, *target.pattern, [&](global_int_t, word_id_t, global_int_t k) { return target.values[k]; }, S));
  PetscCall(MatSetOption(*S, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

namespace {

struct ShellContext {
  OwnedMat sparse;
  double rank_one;
  PetscInt applications = 0;
};

PetscErrorCode ShellMult(Mat op, Vec x, Vec y) {
  ShellContext* ctx;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(op, &ctx));
  PetscCall(MatMult(ctx->sparse, x, y));
  if (ctx->rank_one != 0) {
    PetscScalar sum;
    PetscCall(VecSum(x, &sum));  // one MPI_Allreduce
    PetscCall(VecShift(y, ctx->rank_one * sum));
  }
  ++ctx->applications;
  PetscFunctionReturn(0);
}

PetscErrorCode ShellDestroy(Mat op) {
  ShellContext* ctx;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(op, &ctx));
  delete ctx;  // releases its reference to S
  PetscFunctionReturn(0);
}

}  // namespace

PetscErrorCode CreateTargetOperator(Mat S, double rank_one, OwnedMat* op) {
  PetscFunctionBeginUser;
  PetscInt m, n, M, N;
  PetscCall(MatGetLocalSize(S, &m, &n));
  PetscCall(MatGetSize(S, &M, &N));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(S), &comm));
  // The shell holds its own reference to S, released with its context by ShellDestroy.
  PetscCall(PetscObjectReference(reinterpret_cast<PetscObject>(S)));
  auto* ctx = new ShellContext{OwnedMat(S), rank_one, 0};
  PetscCall(MatCreateShell(comm, m, n, M, N, ctx, op->out()));
  PetscCall(MatShellSetOperation(*op, MATOP_MULT, reinterpret_cast<void (*)(void)>(ShellMult)));
  PetscCall(MatShellSetOperation(*op, MATOP_MULT_TRANSPOSE, reinterpret_cast<void (*)(void)>(ShellMult)));
  PetscCall(MatShellSetOperation(*op, MATOP_DESTROY, reinterpret_cast<void (*)(void)>(ShellDestroy)));
  PetscCall(MatSetOption(*op, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode GetOperatorApplications(Mat op, PetscInt* count) {
  ShellContext* ctx;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(op, &ctx));
  *count = ctx->applications;
  PetscFunctionReturn(0);
}

PetscErrorCode CreateDenseTarget(MPI_Comm comm, const Target& target, OwnedMat* dense) {
  PetscFunctionBeginUser;
  const CooccurrenceRows& p = *target.pattern;
  const auto m = static_cast<PetscInt>(p.n_local_rows()), V = static_cast<PetscInt>(p.n_words);
  PetscCall(MatCreateDense(comm, m, m, V, V, nullptr, dense->out()));
  PetscScalar* a;
  PetscInt lda;
  PetscCall(MatDenseGetLDA(*dense, &lda));
  PetscCall(MatDenseGetArrayWrite(*dense, &a));
  for (PetscInt j = 0; j < V; ++j)
    for (PetscInt i = 0; i < m; ++i) a[i + static_cast<std::size_t>(j) * lda] = target.rank_one;
  for (PetscInt i = 0; i < m; ++i)
    for (global_int_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k)
      a[i + static_cast<std::size_t>(p.cols[k]) * lda] += target.values[k];
  PetscCall(MatDenseRestoreArrayWrite(*dense, &a));
  PetscCall(MatAssemblyBegin(*dense, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*dense, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(*dense, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

}  // namespace qwem
