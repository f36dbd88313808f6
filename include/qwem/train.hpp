// The training driver of --mode sgd|gd: runs a Trainer for the requested steps and records, as
// time series, the loss, every singular value of W, the theory's curves a_k(tau) from M*'s
// eigenvalues (SCIENCE.md section 4), the overlap of W's top-k singular subspace with M*'s top-k
// eigenvectors, analogy accuracy, and log-spaced checkpoints of W. A SIGTERM or SIGUSR1 (what
// SLURM sends before the time limit; signals.hpp) stops the run at the next step boundary, on every rank
// together, so the caller can write a checkpoint; --resume continues bit for bit.
#pragma once

#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/trainer.hpp"

namespace qwem {

struct TrainRecord {
  int dim = 0;                      // d: singular values per record
  int n_modes = 0;                  // theory curves per record (eigenpairs available, at most d)
  int n_overlap = 0;                // overlap of the top-k subspaces, k = 1 .. n_overlap
  std::vector<double> eigenvalues;  // lambda_k of the theory (n_modes)
  std::vector<double> a0;           // initial squared projection of W on each eigenvector
  std::vector<global_int_t> step;
  std::vector<double> tau, lr, loss, seconds;
  std::vector<double> singular_values;  // records x dim
  std::vector<double> theory;           // records x n_modes: sqrt(a_k(tau))
  std::vector<double> theory_discrete;  // records x n_modes: sqrt(a_k) of the discrete recurrence
  // The coupled theory (theory.hpp), from W0's projections on all the eigenpairs given (n_coupled
  // of them, >= n_modes with --theory-modes): W's d singular values per record.
  std::vector<double> coupled_eigenvalues;  // n_coupled
  std::vector<double> initial_projections;  // n_coupled x dim: W0^T v_k
  std::vector<double> initial_gram;         // dim x dim: W0^T W0
  std::vector<double> theory_coupled;       // records x dim
  bool coupled_exact_steps = false;         // stepped exactly (theory.hpp), else in chunks
  std::vector<double> mode_squares;         // records x n_modes: ||W^T v_k||^2, each mode's measured a_k
  // Per mode (n_modes): tau at which s_k^2 reaches lambda_k / 2, measured and by both theories.
  std::vector<double> switch_on_measured, switch_on_theory, switch_on_discrete, switch_on_coupled;
  std::vector<double> overlap;  // records x n_overlap
  std::vector<global_int_t> eval_step;
  std::vector<double> analogy, analogy_pair;  // accuracy (standard, pair protocol)
  std::vector<global_int_t> checkpoint_step;
  std::vector<std::vector<double>> checkpoint_rows;  // this rank's rows of W at each checkpoint
  global_int_t completed_steps = 0;
  bool interrupted = false;  // stopped by a signal before the last step
  int stop_signal = 0;
  double train_seconds = 0;  // this run's training wall time (not counting earlier runs)
  global_int_t steps_this_run = 0;
  double updates_per_second_per_rank = 0;  // sgd: pair updates (positives + negatives)
  std::vector<PhaseSeconds> step_phases;   // this run's seconds in each part of the steps, mean over ranks
  // max over records of |s_k - s_theory_k| / sqrt(lambda_k), top n modes (lower is better), against
  // the continuous curves or the discrete ones
  double MaxError(int n_modes = 10) const;
  double DiscreteMaxError(int n_modes = 10) const;
  double CoupledMaxError(int n_modes = 10) const;  // NaN without the coupled theory
};

// The state a run ends with (and a checkpoint stores): this rank's rows of W, and of the output
// vectors when the trainer has them (C empty otherwise).
struct TrainedState {
  global_int_t row_begin = 0, row_end = 0;
  std::vector<double> W, C;
};
TrainedState CaptureState(const Trainer& trainer);

// Steps in [0, steps] at which to record: multiples of every (and the last), or about n
// log-spaced integers (always 0 and steps) when every is 0.
std::vector<global_int_t> RecordSteps(global_int_t steps, global_int_t every, int n);

// Collective. Trains from the trainer's current step to its setup's steps (the trainer is
// initialized or restored by the caller; `record` holds the series so far: empty, or read from
// a checkpoint), recording on the schedule of the train options. eig: M*'s eigenpairs in W's row
// layout (may be null: no theory, no overlap). evaluate(W) returns {standard, pair} analogy
// accuracy (may be empty).
using AnalogyProbe = std::function<std::pair<double, double>(const LocalRows&)>;
void RunTraining(MPI_Comm comm, Trainer& trainer, const EigenResult* eig, const AnalogyProbe& evaluate,
                 const ProgressLines& progress, TrainRecord& record);

struct TrainingResult {
  TrainRecord record;
  TrainedState state;
};

// Collective. The training phase: a trainer for the setup, started from W0 or from the setup's
// resume file (whose settings and vocabulary must match: checkpoint.hpp), run by RunTraining;
// with analogy questions, their accuracy is probed at the checkpoints (or --eval-every).
TrainingResult Train(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs inputs, const EigenResult* eig,
                     const AnalogyQuestions* questions, const ProgressLines& progress);

// The V x d matrices /train stores for this result: the snapshots, the state W, and C if any.
inline int StoredMatrices(const TrainingResult& r) {
  return static_cast<int>(r.record.checkpoint_step.size()) + 1 + (r.state.C.empty() ? 0 : 1);
}

// Not collective. The trained W as the run's embeddings (a copy of this rank's rows), or W + C
// (hyperwords' w+c; the training must have kept separate output vectors).
Embeddings TrainedEmbeddings(const TrainingResult& result, const TrainingSetup& setup, global_int_t n_words,
                             EmbeddingSum sum = EmbeddingSum::kW);

}  // namespace qwem
