#include "qwem/target.hpp"

#include <cmath>
#include <limits>

namespace qwem {

TargetKind ParseTargetKind(const std::string& name) {
  if (name == "mstar") return TargetKind::kMStar;
  if (name == "ppmi") return TargetKind::kPPMI;
  if (name == "pmi") return TargetKind::kPMI;
  throw Error("--target must be mstar, ppmi or pmi (got '" + name + "')");
}

OperatorKind ParseOperatorKind(const std::string& name) {
  if (name == "auto") return OperatorKind::kAuto;
  if (name == "sparse") return OperatorKind::kSparse;
  if (name == "dense") return OperatorKind::kDense;
  throw Error("--operator must be auto, sparse or dense (got '" + name + "')");
}

std::string ToString(TargetKind kind) {
  switch (kind) {
    case TargetKind::kMStar: return "mstar";
    case TargetKind::kPPMI: return "ppmi";
    case TargetKind::kPMI: return "pmi";
  }
  return "?";
}

std::string ToString(OperatorKind kind) {
  switch (kind) {
    case OperatorKind::kAuto: return "auto";
    case OperatorKind::kSparse: return "sparse";
    case OperatorKind::kDense: return "dense";
  }
  return "?";
}

PetscErrorCode BuildTarget(MPI_Comm comm, const CooccurrenceRows& counts, const Vocabulary& vocab,
                           const TargetOptions& options, Target* target) {
  PetscFunctionBeginUser;
  PetscCheck(counts.n_words == vocab.size(), comm, PETSC_ERR_ARG_SIZ, "counts and vocabulary sizes differ");
  PetscCheck(counts.n_pairs > 0, comm, PETSC_ERR_ARG_WRONG,
             "the corpus has no co-occurring pairs (every document is a single in-vocabulary token)");
  const double pair_norm = static_cast<double>(counts.n_pairs) * (options.window + 1) / 2.0;  // N (L+1)/2
  const double unigram_norm = static_cast<double>(vocab.n_in_vocab_tokens);
  auto p_i = [&](global_int_t i) { return static_cast<double>(vocab.counts[i]) / unigram_norm; };

  // The value on each nonzero; PMI's floor needs the global minimum first.
  double pmi_floor = 0;
  if (options.kind == TargetKind::kPMI) {
    double local_min = std::numeric_limits<double>::infinity();
    for (global_int_t r = 0; r < counts.n_local_rows(); ++r)
      for (global_int_t k = counts.row_ptr[r]; k < counts.row_ptr[r + 1]; ++k) {
        const double p = static_cast<double>(counts.values[k]) / pair_norm;
        local_min = std::min(local_min, std::log(p / (p_i(counts.row_begin + r) * p_i(counts.cols[k]))));
      }
    PetscCallMPI(MPI_Allreduce(&local_min, &pmi_floor, 1, MPI_DOUBLE, MPI_MIN, comm));
  }
  target->kind = options.kind;
  target->rank_one = options.kind == TargetKind::kMStar ? -2.0 : options.kind == TargetKind::kPMI ? pmi_floor : 0.0;

  Mat S;
  PetscCall(AssembleOnPattern(
      comm, counts,
      [&](global_int_t row, word_id_t col, global_int_t c) {
        const double p = static_cast<double>(c) / pair_norm;
        const double q = p_i(row) * p_i(col);
        switch (options.kind) {
          case TargetKind::kMStar: return 4.0 * p / (p + options.nu * q);
          case TargetKind::kPPMI: return std::max(std::log(p / q), 0.0);
          case TargetKind::kPMI: return std::log(p / q) - pmi_floor;
        }
        return 0.0;
      },
      &S));
  PetscCall(MatSetOption(S, MAT_SYMMETRIC, PETSC_TRUE));
  target->sparse = S;
  PetscFunctionReturn(0);
}

PetscErrorCode DestroyTarget(Target* target) {
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&target->sparse));
  PetscFunctionReturn(0);
}

namespace {

struct ShellContext {
  Mat sparse;
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
  PetscCall(MatDestroy(&ctx->sparse));
  delete ctx;
  PetscFunctionReturn(0);
}

}  // namespace

PetscErrorCode CreateTargetOperator(const Target& target, Mat* op) {
  PetscFunctionBeginUser;
  PetscInt m, n, M, N;
  PetscCall(MatGetLocalSize(target.sparse, &m, &n));
  PetscCall(MatGetSize(target.sparse, &M, &N));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(target.sparse), &comm));
  // The shell holds its own reference to the inner matrix, released by ShellDestroy.
  PetscCall(PetscObjectReference(reinterpret_cast<PetscObject>(target.sparse)));
  auto* ctx = new ShellContext{target.sparse, target.rank_one, 0};
  PetscCall(MatCreateShell(comm, m, n, M, N, ctx, op));
  PetscCall(MatShellSetOperation(*op, MATOP_MULT, reinterpret_cast<void (*)(void)>(ShellMult)));
  PetscCall(MatShellSetOperation(*op, MATOP_MULT_TRANSPOSE, reinterpret_cast<void (*)(void)>(ShellMult)));
  PetscCall(MatShellSetOperation(*op, MATOP_DESTROY, reinterpret_cast<void (*)(void)>(ShellDestroy)));
  PetscCall(MatSetOption(*op, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(0);
}

namespace {

// Mean wall seconds of one application of op (after one warm-up), max over ranks.
PetscErrorCode TimeApplication(Mat op, int reps, double* seconds) {
  PetscFunctionBeginUser;
  Vec x, y;
  PetscCall(MatCreateVecs(op, &x, &y));
  PetscCall(VecSet(x, 1.0));
  PetscCall(MatMult(op, x, y));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(op), &comm));
  PetscCallMPI(MPI_Barrier(comm));
  const double t0 = MPI_Wtime();
  for (int r = 0; r < reps; ++r) PetscCall(MatMult(op, x, y));
  double local = (MPI_Wtime() - t0) / reps;
  PetscCallMPI(MPI_Allreduce(&local, seconds, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

}  // namespace

PetscErrorCode CreateOperator(const Target& target, OperatorKind requested, Mat* op, OperatorChoice* choice) {
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
    if (V > kAutoDenseMaxWords || 12.0 * info.nz_used < 0.5 * 8.0 * dense_entries) kind = OperatorKind::kSparse;
  }
  Mat sparse_op = nullptr, dense = nullptr;
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
  if (kind == OperatorKind::kDense) {
    *op = dense;
    PetscCall(MatDestroy(&sparse_op));
  } else {
    *op = sparse_op;
    PetscCall(MatDestroy(&dense));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode GetOperatorApplications(Mat op, PetscInt* count) {
  ShellContext* ctx;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(op, &ctx));
  *count = ctx->applications;
  PetscFunctionReturn(0);
}

PetscErrorCode CreateDenseTarget(const Target& target, Mat* dense) {
  PetscFunctionBeginUser;
  PetscCall(MatConvert(target.sparse, MATDENSE, MAT_INITIAL_MATRIX, dense));
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
