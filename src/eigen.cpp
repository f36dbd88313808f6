#include "qwem/eigen.hpp"

#include <slepceps.h>

#include <algorithm>
#include <cmath>

#include "qwem/block_lanczos.hpp"
#include "qwem/dense_eigen.hpp"
#include "qwem/exchange.hpp"
#include "qwem/format.hpp"
#include "qwem/petsc_handle.hpp"
#include "qwem/signals.hpp"

namespace qwem {

namespace {

// An EPS for the nev largest algebraic eigenvalues of the symmetric A, of the given type.
PetscErrorCode CreateSymmetricEps(Mat A, EPSType type, PetscInt nev, PetscInt ncv, OwnedEps* eps) {
  PetscFunctionBeginUser;
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(A), &comm));
  PetscCall(EPSCreate(comm, eps->out()));
  PetscCall(EPSSetOperators(*eps, A, nullptr));
  PetscCall(EPSSetProblemType(*eps, EPS_HEP));
  PetscCall(EPSSetType(*eps, type));
  PetscCall(EPSSetWhichEigenpairs(*eps, EPS_LARGEST_REAL));
  PetscCall(EPSSetDimensions(*eps, nev, ncv, PETSC_DEFAULT));
  PetscFunctionReturn(0);
}

// "eigensolve: restart 3, 88 of 200 converged, 534 products (49.0/s), 10.9 s, about 14 s left",
// at most every progress.seconds. The time left is extrapolated from the pairs converged so far
// (pairs converge in bursts, so it is a rough guide).
class EigenProgress {
 public:
  EigenProgress(const ProgressLines& progress, int dim) : progress_(progress), dim_(dim) {}
  void Line(long long restart, long long converged, long long products) {
    const double now = MPI_Wtime();
    if (!progress_.say || progress_.seconds <= 0 || now - t_last_ < progress_.seconds) return;
    t_last_ = now;
    const double elapsed = now - t_start_;
    const std::string eta = converged > 0 && converged < dim_
                                ? FormatTimeLeft(elapsed * static_cast<double>(dim_ - converged) / converged)
                                : "";
    const std::string rate = products >= 0
                                 ? Format("%lld products (%.1f/s)", products, products / std::max(elapsed, 1e-9))
                                 : std::string("(explicit matrix)");
    progress_.say(Format("eigensolve: restart %lld, %lld of %d converged, %s, %.1f s%s", restart, converged, dim_,
                         rate.c_str(), elapsed, eta.c_str()));
  }

 private:
  ProgressLines progress_;
  int dim_;
  double t_start_ = MPI_Wtime(), t_last_ = MPI_Wtime();
};

struct MonitorContext {
  EigenProgress* progress;
  Mat op;
};

// EPS monitor: the progress line.
PetscErrorCode ReportProgress(EPS, PetscInt its, PetscInt nconv, PetscScalar*, PetscScalar*, PetscReal*, PetscInt,
                              void* ctx) {
  PetscFunctionBeginUser;
  auto* m = static_cast<MonitorContext*>(ctx);
  PetscInt products = -1;
  PetscBool is_shell;
  PetscCall(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(m->op), MATSHELL, &is_shell));
  if (is_shell) PetscCall(GetOperatorApplications(m->op, &products));
  m->progress->Line(its, nconv, products);
  PetscFunctionReturn(0);
}

// EPS stopping test: SLEPc's own, and a stop signal caught on any rank (agreed: the test runs at
// the same point of the algorithm on every rank).
PetscErrorCode StopOnSignal(EPS eps, PetscInt its, PetscInt max_it, PetscInt nconv, PetscInt nev,
                            EPSConvergedReason* reason, void* ctx) {
  PetscFunctionBeginUser;
  PetscCall(EPSStoppingBasic(eps, its, max_it, nconv, nev, reason, nullptr));
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(eps), &comm));
  int* stop_signal = static_cast<int*>(ctx);
  *stop_signal = AgreedStopSignal(comm);
  if (*stop_signal != 0 && *reason == EPS_CONVERGED_ITERATING) *reason = EPS_CONVERGED_USER;
  PetscFunctionReturn(0);
}

EigenResult SolveScalapack(MPI_Comm comm, const Target& target, const EigenOptions& options);  // below

// The block solver: block Lanczos on the block operator the cost model picks.
EigenResult SolveBlock(MPI_Comm comm, const Target& target, const EigenOptions& options, OperatorKind op,
                       const ProgressLines& progress, bool interruptible) {
  const int b = BlockWidth(options);
  const Precision precision = options.tol >= kSinglePrecisionTol ? Precision::kSingle : Precision::kDouble;
  BlockLanczosOptions lanczos;
  lanczos.nev = options.dim;
  lanczos.ncv = options.ncv;
  lanczos.max_products = options.max_products;
  lanczos.tol = options.tol;
  lanczos.precision = precision;
  if (options.ncv == 0 && !BlockLanczosFits(lanczos, b, target.pattern->n_words)) {
    // Too small a vocabulary for blocks (V < d + 3 b): the dense solve, which is cheap there.
    EigenResult result = SolveScalapack(comm, target, options);
    result.op.reason +=
        Format("; V = %lld is too small for the block solver", static_cast<long long>(target.pattern->n_words));
    return result;
  }
  EigenResult result;
  result.op = ChooseOperator(comm, *target.pattern, op,
                             precision == Precision::kSingle ? kBlockSingleCosts : kBlockDoubleCosts);
  BlockOperator A(comm, target, result.op.chosen, b, precision == Precision::kSingle, true);
  EigenProgress lines(progress, options.dim);
  const BlockLanczosResult r = SolveBlockLanczos(
      comm, A, lanczos,
      [&](int restart, int converged, global_int_t products) { lines.Line(restart, converged, products); },
      interruptible ? StopTest([comm] { return AgreedStopSignal(comm); }) : StopTest());
  const int n = static_cast<int>(A.n_local()), d = r.n_converged;
  result.eigenvalues = r.eigenvalues;
  result.residuals = r.residuals;
  result.residual_kind = "||A v - lambda v|| / |lambda| with double-precision products";
  // The solver's even row layout back to the counts' layout, row-major.
  std::vector<double> rows(static_cast<std::size_t>(n) * d);
  for (int k = 0; k < d; ++k)
    for (int i = 0; i < n; ++i)
      rows[static_cast<std::size_t>(i) * d + k] = r.vectors[static_cast<std::size_t>(k) * n + i];
  result.vectors = RedistributeRows(comm, A.layout(), target.pattern->row_ranges, rows.data(), d);
  result.row_begin = target.pattern->row_begin;
  result.row_end = target.pattern->row_end;
  result.n_converged = d;
  result.n_restarts = r.restarts;
  result.n_matvecs = r.products;
  result.n_double_products = r.double_products;
  result.refined = r.refined;
  result.solver = "block-lanczos";
  result.precision = precision == Precision::kSingle && result.op.chosen == OperatorKind::kSparse
                         ? "single (checked in double)"
                         : "double";
  result.tol = options.tol;
  result.ncv = r.ncv;
  result.block = b;
  result.stop_signal = r.stop_signal;
  result.times = r.times;
  result.projections = r.projections;
  result.repeated_projections = r.repeated_projections;
  return result;
}

// ||A v - lambda v|| / |lambda| of every pair, with double-precision block products (d / 32 of
// them), for a solver that has no residuals of its own.
std::vector<double> DoublePrecisionResiduals(MPI_Comm comm, const Target& target, const EigenResult& eig) {
  constexpr int b = 32;
  BlockOperator A(comm, target, OperatorKind::kSparse, b, false, true);
  const int d = eig.dim(), n = static_cast<int>(A.n_local());
  const std::vector<double> even =
      RedistributeRows(comm, target.pattern->row_ranges, A.layout(), eig.vectors.data(), d);
  std::vector<double> X(static_cast<std::size_t>(std::max(n, 1)) * b), AX(X.size()), sums(2 * b);
  std::vector<double> residuals(d);
  for (int k0 = 0; k0 < d; k0 += b) {
    const int cols = std::min(b, d - k0);
    std::fill(X.begin(), X.end(), 0.0);
    for (int c = 0; c < cols; ++c)
      for (int i = 0; i < n; ++i)
        X[i + static_cast<std::size_t>(c) * n] = even[static_cast<std::size_t>(i) * d + k0 + c];
    A.Apply(X.data(), std::max(n, 1), AX.data(), std::max(n, 1), Precision::kDouble);
    std::fill(sums.begin(), sums.end(), 0.0);
    for (int c = 0; c < cols; ++c)
      for (int i = 0; i < n; ++i) {
        const double r =
            AX[i + static_cast<std::size_t>(c) * n] - eig.eigenvalues[k0 + c] * X[i + static_cast<std::size_t>(c) * n];
        sums[c] += r * r;
      }
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, sums.data(), cols, MPI_DOUBLE, MPI_SUM, comm));
    for (int c = 0; c < cols; ++c) residuals[k0 + c] = std::sqrt(sums[c]) / std::abs(eig.eigenvalues[k0 + c]);
  }
  return residuals;
}

// ScaLAPACK: the top d pairs of the explicit matrix, directly.
EigenResult SolveScalapack(MPI_Comm comm, const Target& target, const EigenOptions& options) {
  EigenResult result;
  DenseEigenpairs dense = SolveDense(comm, target, options.dim);
  result.eigenvalues = std::move(dense.eigenvalues);
  result.vectors = std::move(dense.vectors);
  result.row_begin = target.pattern->row_begin;
  result.row_end = target.pattern->row_end;
  result.op.requested = result.op.chosen = OperatorKind::kDense;
  result.op.reason = Format("block-cyclic %d x %d grid, blocks of %d", dense.grid_rows, dense.grid_cols, dense.block);
  result.n_converged = result.dim();
  result.n_matvecs = -1;
  result.solver = "scalapack-pdsyevr";
  result.precision = "double";
  result.residuals = DoublePrecisionResiduals(comm, target, result);
  result.residual_kind = "||A v - lambda v|| / |lambda| with double-precision products";
  return result;
}

// SLEPc: EPS on a PETSc operator (the counting shell of S + c 1 1^T, or the explicit matrix).
EigenResult SolveSlepc(MPI_Comm comm, const Target& target, const EigenOptions& options, OperatorKind op,
                       const ProgressLines& progress, bool interruptible) {
  EigenResult result;
  result.op = ChooseOperator(comm, *target.pattern, op, kSpmvCosts);
  OwnedMat A;
  if (result.op.chosen == OperatorKind::kDense) {
    PetscThrow(CreateDenseTarget(comm, target, &A), "CreateDenseTarget");
  } else {
    OwnedMat S;
    PetscThrow(AssembleTargetMatrix(comm, target, &S), "AssembleTargetMatrix");
    PetscThrow(CreateTargetOperator(S, target.rank_one, &A), "CreateTargetOperator");
  }
  PetscThrow(SolveTopEigenpairs(A, options, progress, &result, interruptible), "SolveTopEigenpairs");
  return result;
}

}  // namespace

PetscErrorCode SolveTopEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress,
                                  EigenResult* result, bool interruptible) {
  PetscFunctionBeginUser;
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(op), &comm));
  OwnedEps eps;
  // ncv = 1.5 d: on Gutenberg (V = 10k, d = 200) 37 s against 46 s for SLEPc's default 2 d.
  const PetscInt ncv = options.ncv > 0 ? options.ncv : std::max(options.dim + 16, 3 * options.dim / 2);
  PetscCall(CreateSymmetricEps(op, EPSKRYLOVSCHUR, options.dim, ncv, &eps));
  PetscCall(EPSSetTolerances(eps, options.tol, PETSC_DEFAULT));
  PetscCall(EPSSetFromOptions(eps));  // last, so -eps_nev, -eps_type, -eps_tol, ... override the defaults
  EigenProgress lines(progress, options.dim);
  MonitorContext monitor{&lines, op};
  if (interruptible) PetscCall(EPSSetStoppingTestFunction(eps, StopOnSignal, &result->stop_signal, nullptr));
  if (progress.say && progress.seconds > 0) PetscCall(EPSMonitorSet(eps, ReportProgress, &monitor, nullptr));
  PetscCall(EPSSolve(eps));

  PetscCall(EPSGetConverged(eps, &result->n_converged));
  PetscCall(EPSGetIterationNumber(eps, &result->n_restarts));
  EPSType type;
  PetscCall(EPSGetType(eps, &type));
  result->solver = type;
  result->precision = "double";
  PetscReal tol;
  PetscInt maxit, nev, mpd;
  PetscCall(EPSGetTolerances(eps, &tol, &maxit));
  PetscCall(EPSGetDimensions(eps, &nev, &result->ncv, &mpd));
  result->tol = tol;
  PetscBool is_shell;
  PetscCall(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(op), MATSHELL, &is_shell));
  if (is_shell) {
    PetscInt products;
    PetscCall(GetOperatorApplications(op, &products));
    result->n_matvecs = products;
    result->n_double_products = products;
  }
  result->residual_kind = "SLEPc's error estimate (EPSGetErrorEstimate), relative to |lambda|";

  const PetscInt d = std::min<PetscInt>(nev, result->n_converged);
  PetscInt lo, hi;
  PetscCall(MatGetOwnershipRange(op, &lo, &hi));
  result->row_begin = lo;
  result->row_end = hi;
  const PetscInt m = hi - lo;
  result->eigenvalues.assign(d, 0);
  result->residuals.assign(d, 0);
  result->vectors.assign(static_cast<std::size_t>(m) * d, 0);
  OwnedVec v;
  PetscCall(MatCreateVecs(op, v.out(), nullptr));
  for (PetscInt k = 0; k < d; ++k) {
    PetscScalar lambda;
    PetscCall(EPSGetEigenpair(eps, k, &lambda, nullptr, v, nullptr));
    PetscReal err;
    PetscCall(EPSGetErrorEstimate(eps, k, &err));
    result->eigenvalues[k] = PetscRealPart(lambda);
    result->residuals[k] = err;
    const PetscScalar* x;
    PetscCall(VecGetArrayRead(v, &x));
    for (PetscInt i = 0; i < m; ++i) result->vectors[static_cast<std::size_t>(i) * d + k] = PetscRealPart(x[i]);
    PetscCall(VecRestoreArrayRead(v, &x));
  }
  NormalizeSigns(comm, lo, m, static_cast<int>(d), result->vectors.data());
  PetscFunctionReturn(0);
}

EigenResult ComputeEigenpairs(MPI_Comm comm, const Target& target, const EigenOptions& options, OperatorKind op,
                              const ProgressLines& progress, bool interruptible) {
  EigenResult eig =
      options.solver == EigenSolverKind::kBlock   ? SolveBlock(comm, target, options, op, progress, interruptible)
      : options.solver == EigenSolverKind::kSlepc ? SolveSlepc(comm, target, options, op, progress, interruptible)
                                                  : SolveScalapack(comm, target, options);
  if (options.solver == EigenSolverKind::kBlock)
    NormalizeSigns(comm, eig.row_begin, eig.row_end - eig.row_begin, eig.dim(), eig.vectors.data());
  if (eig.stop_signal == 0 && eig.n_converged < options.dim) {
    const std::string what = options.solver == EigenSolverKind::kBlock
                                 ? "raise --eig-max-products or --eig-ncv, or lower --dim"
                                 : "raise -eps_max_it or -eps_ncv, or lower --dim";
    throw Error("only " + std::to_string(eig.n_converged) + " of " + std::to_string(options.dim) +
                " eigenpairs converged (" + eig.solver + ", " + std::to_string(eig.n_restarts) + " restarts); " + what);
  }
  return eig;
}

void NormalizeSigns(MPI_Comm comm, global_int_t row_begin, global_int_t n_rows, int d, double* rows) {
  struct Extreme {
    double magnitude;
    global_int_t row;  // global
    double value;
  };
  std::vector<Extreme> local(d, Extreme{-1.0, 0, 0.0});
  for (global_int_t i = 0; i < n_rows; ++i)
    for (int k = 0; k < d; ++k) {
      const double v = rows[i * d + k];
      if (std::abs(v) > local[k].magnitude) local[k] = {std::abs(v), row_begin + i, v};  // first of equals kept
    }
  const std::vector<Extreme> all = AllgatherConcat(comm, local.data(), local.size());
  for (int k = 0; k < d; ++k) {
    Extreme best{-1.0, 0, 0.0};
    for (std::size_t r = k; r < all.size(); r += d) {
      const Extreme& e = all[r];
      if (e.magnitude > best.magnitude || (e.magnitude == best.magnitude && e.row < best.row)) best = e;
    }
    if (best.value < 0)
      for (global_int_t i = 0; i < n_rows; ++i) rows[i * d + k] = -rows[i * d + k];
  }
}

std::vector<double> ComputeFullSpectrum(MPI_Comm comm, const Target& target) {
  return SolveDense(comm, target, 0).eigenvalues;
}

void CheckEigenMemory(MPI_Comm comm, bool vectors, bool full_spectrum, global_int_t V) {
  if (!vectors && !full_spectrum) return;
  const NodeMemory node = NodeMemoryShare(comm);
  const double need = DenseEigenBytesPerRank(V, CommSize(comm), vectors);
  AgreeOrThrow(comm, need <= 0.8 * node.per_rank,
               std::string(vectors ? "--eigensolver scalapack" : "--full-spectrum") + " needs the dense V x V matrix" +
                   (vectors ? " and its eigenvectors" : "") + ": about " + FormatBytes(need) + " per rank (" +
                   std::to_string(node.ranks_here) + " ranks on a node of " + FormatBytes(node.bytes) +
                   "); use more nodes" + (vectors ? ", or the block solver" : ""));
}

std::vector<double> ComputeEmbeddings(const EigenResult& eig, double power) {
  const int d = eig.dim();
  std::vector<double> scale(d);
  for (int k = 0; k < d; ++k) scale[k] = std::pow(std::max(eig.eigenvalues[k], 0.0), power);
  std::vector<double> w(eig.vectors.size());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = eig.vectors[i] * scale[i % d];
  return w;
}

Embeddings ClosedFormEmbeddings(const EigenResult& eig, double power, global_int_t n_words) {
  return {ComputeEmbeddings(eig, power),
          eig.row_begin,
          eig.row_end,
          n_words,
          eig.dim(),
          "W = [v_1 .. v_d] diag(max(lambda_k, 0)^eig_power)",
          power};
}

}  // namespace qwem
