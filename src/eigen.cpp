#include "qwem/eigen.hpp"

#include <slepceps.h>

#include <algorithm>
#include <cmath>

#include "qwem/format.hpp"
#include "qwem/petsc_handle.hpp"
#include "qwem/signals.hpp"
#include "qwem/target.hpp"

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

struct MonitorContext {
  const ProgressLines* progress;
  int dim;
  Mat op;
  double t_start, t_last;
};

// EPS monitor: a plain progress line at most every report_seconds (long solves in batch logs).
PetscErrorCode ReportProgress(EPS, PetscInt its, PetscInt nconv, PetscScalar*, PetscScalar*, PetscReal*, PetscInt,
                              void* ctx) {
  PetscFunctionBeginUser;
  auto* m = static_cast<MonitorContext*>(ctx);
  const double now = MPI_Wtime();
  if (now - m->t_last < m->progress->seconds) PetscFunctionReturn(0);
  m->t_last = now;
  PetscInt products = -1;
  PetscBool is_shell;
  PetscCall(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(m->op), MATSHELL, &is_shell));
  if (is_shell) PetscCall(GetOperatorApplications(m->op, &products));
  char line[256];
  const double elapsed = now - m->t_start;
  // Time left, extrapolated from the pairs converged so far (Krylov-Schur locks them in bursts,
  // so this is a rough guide).
  const std::string eta =
      nconv > 0 && nconv < m->dim ? FormatTimeLeft(elapsed * (m->dim - nconv) / static_cast<double>(nconv)) : "";
  if (products >= 0)
    std::snprintf(line, sizeof line, "eigensolve: restart %d, %d of %d converged, %d products (%.1f/s), %.1f s%s",
                  static_cast<int>(its), static_cast<int>(nconv), m->dim, static_cast<int>(products),
                  products / std::max(elapsed, 1e-9), elapsed, eta.c_str());
  else
    std::snprintf(line, sizeof line, "eigensolve: restart %d, %d of %d converged (explicit matrix), %.1f s%s",
                  static_cast<int>(its), static_cast<int>(nconv), m->dim, elapsed, eta.c_str());
  m->progress->say(line);
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

}  // namespace

PetscErrorCode SolveTopEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress,
                                  EigenResult* result, bool interruptible) {
  PetscFunctionBeginUser;
  MPI_Comm comm;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(op), &comm));
  OwnedEps eps;
  // ncv = 1.5 d: on Gutenberg (V = 10k, d = 200) 37 s against 46 s for SLEPc's default 2 d.
  PetscCall(CreateSymmetricEps(op, EPSKRYLOVSCHUR, options.dim, std::max(options.dim + 16, 3 * options.dim / 2), &eps));
  PetscCall(EPSSetTolerances(eps, options.tol, PETSC_DEFAULT));
  PetscCall(EPSSetFromOptions(eps));  // last, so -eps_nev, -eps_type, -eps_tol, ... override the defaults
  MonitorContext monitor{&progress, options.dim, op, MPI_Wtime(), MPI_Wtime()};
  if (interruptible) PetscCall(EPSSetStoppingTestFunction(eps, StopOnSignal, &result->stop_signal, nullptr));
  if (progress.say && progress.seconds > 0) PetscCall(EPSMonitorSet(eps, ReportProgress, &monitor, nullptr));
  PetscCall(EPSSolve(eps));

  PetscCall(EPSGetConverged(eps, &result->n_converged));
  PetscCall(EPSGetIterationNumber(eps, &result->n_restarts));
  EPSType type;
  PetscCall(EPSGetType(eps, &type));
  result->solver = type;
  PetscReal tol;
  PetscInt maxit, nev, mpd;
  PetscCall(EPSGetTolerances(eps, &tol, &maxit));
  PetscCall(EPSGetDimensions(eps, &nev, &result->ncv, &mpd));
  result->tol = tol;
  PetscBool is_shell;
  PetscCall(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(op), MATSHELL, &is_shell));
  if (is_shell) PetscCall(GetOperatorApplications(op, &result->n_matvecs));

  const PetscInt d = std::min<PetscInt>(nev, result->n_converged);
  PetscInt lo, hi;
  PetscCall(MatGetOwnershipRange(op, &lo, &hi));
  result->row_begin = lo;
  result->row_end = hi;
  const PetscInt m = hi - lo;
  result->eigenvalues.assign(d, 0);
  result->residuals.assign(d, 0);
  result->vectors.assign(static_cast<std::size_t>(m) * d, 0);
  OwnedVec v, absv;
  PetscCall(MatCreateVecs(op, v.out(), nullptr));
  PetscCall(VecDuplicate(v, absv.out()));
  for (PetscInt k = 0; k < d; ++k) {
    PetscScalar lambda;
    PetscCall(EPSGetEigenpair(eps, k, &lambda, nullptr, v, nullptr));
    PetscReal err;
    PetscCall(EPSComputeError(eps, k, EPS_ERROR_RELATIVE, &err));
    result->eigenvalues[k] = PetscRealPart(lambda);
    result->residuals[k] = err;
    // Sign: the largest-magnitude entry positive (VecMax picks the first index on ties).
    PetscCall(VecCopy(v, absv));
    PetscCall(VecAbs(absv));
    PetscInt where;
    PetscReal biggest;
    PetscCall(VecMax(absv, &where, &biggest));
    PetscScalar at = 0;
    const PetscScalar* x;
    PetscCall(VecGetArrayRead(v, &x));
    if (where >= lo && where < hi) at = x[where - lo];
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &at, 1, MPIU_SCALAR, MPIU_SUM, comm));
    const double sign = PetscRealPart(at) < 0 ? -1.0 : 1.0;
    for (PetscInt i = 0; i < m; ++i) result->vectors[static_cast<std::size_t>(i) * d + k] = sign * PetscRealPart(x[i]);
    PetscCall(VecRestoreArrayRead(v, &x));
  }
  PetscFunctionReturn(0);
}

EigenResult ComputeEigenpairs(Mat op, const EigenOptions& options, const ProgressLines& progress, bool interruptible) {
  EigenResult eig;
  PetscThrow(SolveTopEigenpairs(op, options, progress, &eig, interruptible), "SolveTopEigenpairs");
  if (eig.stop_signal == 0 && eig.n_converged < options.dim)
    throw Error("only " + std::to_string(eig.n_converged) + " of " + std::to_string(options.dim) +
                " eigenpairs converged (" + eig.solver + ", " + std::to_string(eig.n_restarts) +
                " restarts); raise -eps_max_it or -eps_ncv, or lower --dim");
  return eig;
}

PetscErrorCode SolveFullSpectrum(Mat A, std::vector<double>* eigenvalues) {
  PetscFunctionBeginUser;
  PetscInt n;
  PetscCall(MatGetSize(A, &n, nullptr));
  OwnedEps eps;
  PetscCall(CreateSymmetricEps(A, EPSLAPACK, n, PETSC_DEFAULT, &eps));
  PetscCall(EPSSetOptionsPrefix(eps, "full_"));  // -full_eps_type ..., apart from the top-d solver
  PetscCall(EPSSetFromOptions(eps));
  PetscCall(EPSSolve(eps));
  PetscInt nconv;
  PetscCall(EPSGetConverged(eps, &nconv));
  eigenvalues->resize(nconv);
  for (PetscInt k = 0; k < nconv; ++k) {
    PetscScalar lambda;
    PetscCall(EPSGetEigenvalue(eps, k, &lambda, nullptr));
    (*eigenvalues)[k] = PetscRealPart(lambda);
  }
  PetscFunctionReturn(0);
}

std::vector<double> ComputeEmbeddings(const EigenResult& eig, double power) {
  const int d = eig.dim();
  std::vector<double> scale(d);
  for (int k = 0; k < d; ++k) scale[k] = std::pow(std::max(eig.eigenvalues[k], 0.0), power);
  std::vector<double> w(eig.vectors.size());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = eig.vectors[i] * scale[i % d];
  return w;
}

std::vector<double> ComputeFullSpectrum(const Target& target) {
  OwnedMat dense;
  PetscThrow(CreateDenseTarget(target, &dense), "CreateDenseTarget");
  std::vector<double> eigenvalues;
  PetscThrow(SolveFullSpectrum(dense, &eigenvalues), "SolveFullSpectrum");
  return eigenvalues;
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
