#include "qwem/target.hpp"

#include <cmath>
#include <limits>

#include "qwem/pair_stats.hpp"

namespace qwem {

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
      vals.push_back(value(row, rows.cols[k], rows.values[k]));
    }
    const auto grow = static_cast<PetscInt>(row);
    PetscCall(MatSetValues(*A, 1, &grow, static_cast<PetscInt>(cols.size()), cols.data(), vals.data(), INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

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

PetscErrorCode BuildTarget(MPI_Comm comm, const CooccurrenceRows& counts, const Vocabulary& vocab,
                           const TargetOptions& options, Target* target) {
  PetscFunctionBeginUser;
  PetscCheck(counts.n_words == vocab.size(), comm, PETSC_ERR_ARG_SIZ, "counts and vocabulary sizes differ");
  PetscCheck(counts.n_pairs > 0, comm, PETSC_ERR_ARG_WRONG,
             "the corpus has no co-occurring pairs (every document is a single in-vocabulary token)");
  const PairStatistics stats(counts, vocab);
  const std::vector<double> r = ContextMarginals(stats.unigram, vocab.counts, options.cds);
  auto q_of = [&](global_int_t i, global_int_t j) { return r[i] * r[j]; };
  const double log_shift = std::log(options.shift);
  auto shifted_pmi = [&](double p, double q) { return std::log(p / q) - log_shift; };  // PMI - log k

  // The value on each nonzero; PMI's floor needs the global minimum first.
  double pmi_floor = 0;
  if (options.kind == TargetKind::kPMI) {
    double local_min = std::numeric_limits<double>::infinity();
    for (global_int_t row = 0; row < counts.n_local_rows(); ++row)
      for (global_int_t k = counts.row_ptr[row]; k < counts.row_ptr[row + 1]; ++k)
        local_min =
            std::min(local_min, shifted_pmi(stats.Pij(counts.values[k]), q_of(counts.row_begin + row, counts.cols[k])));
    PetscCallMPI(MPI_Allreduce(&local_min, &pmi_floor, 1, MPI_DOUBLE, MPI_MIN, comm));
  }
  target->rank_one = options.kind == TargetKind::kMStar ? kMStarRankOne
                     : options.kind == TargetKind::kPMI ? pmi_floor
                                                        : 0.0;
  PetscCall(AssembleOnPattern(
      comm, counts,
      [&](global_int_t row, word_id_t col, global_int_t c) {
        const double p = stats.Pij(c), q = q_of(row, col);
        switch (options.kind) {
          case TargetKind::kMStar:
            return MStarSparseEntry(p, q, options.nu);
          case TargetKind::kPPMI:
            return std::max(shifted_pmi(p, q), 0.0);
          case TargetKind::kPMI:
            return shifted_pmi(p, q) - pmi_floor;
        }
        return 0.0;
      },
      &target->sparse));
  PetscCall(MatSetOption(target->sparse, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode TargetNormSquared(const Target& target, double* norm2) {
  PetscFunctionBeginUser;
  PetscInt rs, re, V;
  PetscCall(MatGetOwnershipRange(target.sparse, &rs, &re));
  PetscCall(MatGetSize(target.sparse, &V, nullptr));
  std::vector<double> values;
  for (PetscInt r = rs; r < re; ++r) {
    PetscInt nc;
    const PetscScalar* vals;
    PetscCall(MatGetRow(target.sparse, r, &nc, nullptr, &vals));
    values.insert(values.end(), vals, vals + nc);
    PetscCall(MatRestoreRow(target.sparse, r, &nc, nullptr, &vals));
  }
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(target.sparse.get()), &comm));
  *norm2 = SparsePlusRankOneNormSquared(comm, values.data(), values.size(), target.rank_one, V);
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

// Mean wall seconds of one application of op (after one warm-up), max over ranks.
PetscErrorCode TimeApplication(Mat op, int reps, double* seconds) {
  PetscFunctionBeginUser;
  OwnedVec x, y;
  PetscCall(MatCreateVecs(op, x.out(), y.out()));
  PetscCall(VecSet(x, 1.0));
  PetscCall(MatMult(op, x, y));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(op), &comm));
  PetscCallMPI(MPI_Barrier(comm));
  const double t0 = MPI_Wtime();
  for (int r = 0; r < reps; ++r) PetscCall(MatMult(op, x, y));
  double local = (MPI_Wtime() - t0) / reps;
  PetscCallMPI(MPI_Allreduce(&local, seconds, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

}  // namespace

PetscErrorCode CreateTargetOperator(const Target& target, OwnedMat* op) {
  PetscFunctionBeginUser;
  PetscInt m, n, M, N;
  PetscCall(MatGetLocalSize(target.sparse, &m, &n));
  PetscCall(MatGetSize(target.sparse, &M, &N));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(target.sparse.get()), &comm));
  // The shell holds its own reference to S, released with its context by ShellDestroy.
  PetscCall(PetscObjectReference(reinterpret_cast<PetscObject>(target.sparse.get())));
  auto* ctx = new ShellContext{OwnedMat(target.sparse.get()), target.rank_one, 0};
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

PetscErrorCode CreateOperator(const Target& target, OperatorKind requested, OwnedMat* op, OperatorChoice* choice) {
  PetscFunctionBeginUser;
  PetscInt V;
  PetscCall(MatGetSize(target.sparse, &V, nullptr));
  choice->requested = requested;
  OperatorKind kind = requested;
  if (requested == OperatorKind::kAuto) {
    // A product streams 12 bytes per nonzero (sparse) or 8 per entry (dense): measure only when
    // dense could plausibly win, i.e. the sparse part is over a third full, and fits.
    MatInfo info;
    PetscCall(MatGetInfo(target.sparse, MAT_GLOBAL_SUM, &info));
    const double dense_entries = static_cast<double>(V) * V;
    if (V > kDenseMaxWords || 12.0 * info.nz_used < 0.5 * 8.0 * dense_entries) kind = OperatorKind::kSparse;
  }
  OwnedMat sparse_op, dense;
  if (kind != OperatorKind::kDense) PetscCall(CreateTargetOperator(target, &sparse_op));
  if (kind != OperatorKind::kSparse) PetscCall(CreateDenseTarget(target, &dense));
  if (kind == OperatorKind::kAuto) {
    PetscCall(TimeApplication(sparse_op, 5, &choice->sparse_seconds));
    PetscCall(TimeApplication(dense, 5, &choice->dense_seconds));
    kind = choice->dense_seconds < choice->sparse_seconds ? OperatorKind::kDense : OperatorKind::kSparse;
  }
  choice->chosen = kind;
  // The dense operator is the explicit MATDENSE itself, so dense solvers (-eps_type lapack) can
  // take it; its products are then not counted.
  *op = kind == OperatorKind::kDense ? std::move(dense) : std::move(sparse_op);
  PetscFunctionReturn(0);
}

PetscErrorCode CreateDenseTarget(const Target& target, OwnedMat* dense) {
  PetscFunctionBeginUser;
  PetscCall(MatConvert(target.sparse, MATDENSE, MAT_INITIAL_MATRIX, dense->out()));
  if (target.rank_one != 0) {
    PetscScalar* a;
    PetscInt m, N, lda;
    PetscCall(MatGetLocalSize(*dense, &m, nullptr));
    PetscCall(MatGetSize(*dense, nullptr, &N));
    PetscCall(MatDenseGetLDA(*dense, &lda));
    PetscCall(MatDenseGetArray(*dense, &a));
    for (PetscInt j = 0; j < N; ++j)
      for (PetscInt i = 0; i < m; ++i) a[i + static_cast<std::size_t>(j) * lda] += target.rank_one;
    PetscCall(MatDenseRestoreArray(*dense, &a));
  }
  PetscCall(MatSetOption(*dense, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

}  // namespace qwem
