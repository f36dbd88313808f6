// Learning dynamics (SCIENCE.md section 4): an embedding W (V x d) trained from small Gaussian
// initialization, by one of three strategies behind one interface:
//  * gd      (trainer_gd.cpp): full-batch gradient descent on ||M* - W W^T||_F^2 / V^2 with the
//            distributed sparse + rank-one M*, the exact setting of the theory;
//  * pairs   (trainer_pairs.cpp): data-parallel SGD on pairs drawn from P_ij, on the sampled
//            QWEM loss (reweighted so that its expectation is the unweighted factorization of
//            M*) or word2vec's SGNS loss, with one tied W. Exact mode: W is bit-identical on any
//            number of ranks;
//  * windows (trainer_windows.cpp, window_sgns.hpp): SGNS as word2vec reads a corpus, on each
//            rank's shard; its trajectory depends on the rank count.
// The driver (train.hpp) steps a Trainer and records its spectrum beside the theory.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/options.hpp"
#include "qwem/target.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// The settings that decide a trajectory, from the sections they live in (a resume must match
// them all; checkpoint.hpp).
struct TrainingSetup {
  Mode mode = Mode::kSgd;  // sgd or gd
  int dim = 200;           // d (--dim)
  int window = 16;         // L (--window): P_ij's normalization, word2vec's window
  double nu = 1.0;         // M*'s negative-sampling weight (--ns-weight)
  TrainOptions train;
};

// What the strategies train on. The references must outlive the trainer.
struct TrainingInputs {
  TrainingInputs(const CooccurrenceRows& c, const Vocabulary& v, const Target* t = nullptr,
                 std::vector<word_id_t> ids = {})
      : counts(c), vocab(v), target(t), tokens(std::move(ids)) {}
  const CooccurrenceRows& counts;  // C; its row layout is W's (like the eigenvectors')
  const Vocabulary& vocab;
  const Target* target;           // gd: M* as sparse + rank one
  std::vector<word_id_t> tokens;  // windows: this rank's in-vocabulary ids (kBoundary between documents)
};

// The learning-rate schedule of every mode at (fractional) step t: lr, or with the linear
// schedule lr (1 - t / steps), at least 1e-4 lr (word2vec's decay).
double ScheduledRate(const TrainOptions& options, double t);

// c of the QWEM reweighting q_ij = c / (P_ij + nu P_i P_j): (1 + nu) / V^2, so that E[q] = 1.
inline double ReweightConstant(double nu, global_int_t V) {
  return (1.0 + nu) / (static_cast<double>(V) * static_cast<double>(V));
}

// tau per unit of summed learning rate (Tau(t) = this times the sum of the first t rates): gd
// 8 / V^2, QWEM pairs 2 c, SGNS pairs c (windows: also times its expected positives per step,
// which its engine knows).
double TauPerRate(const TrainingSetup& setup, global_int_t V);

// Not collective. --steps auto: the steps after which, by the theory, each of the top d modes
// (lambda_k > 0) has reached 0.9 lambda_k, tau_0.9 = ln(9 (lambda_k / a_0 - 1)) / lambda_k, with a
// margin of 1.25, from the expected a_0 (d s^2, or s^2 with --theory-convention reference), under
// the learning-rate schedule (linear: the rates sum to lr (T + 1) / 2). gd and pair sampling.
global_int_t AutoSteps(const TrainingSetup& setup, const std::vector<double>& eigenvalues, global_int_t V);

// Not collective. --lr-drop auto: the first step at which, at the undropped constant rate, tau
// reaches 0.9 of the horizon of --steps auto (1.125 times the theory's latest tau_0.9 of the top
// d modes): once every mode has switched on, a lower rate lets the sampling noise settle. Set it
// before AutoSteps, which then counts the rest at the dropped rate.
global_int_t AutoLrDrop(const TrainingSetup& setup, const std::vector<double>& eigenvalues, global_int_t V);

// Seconds a rank has spent in one part of its steps.
struct PhaseSeconds {
  std::string name;
  double seconds = 0;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Not collective. W0 with entries N(0, init_scale^2) keyed by (seed, row, column).
  virtual void Initialize() = 0;
  // Continue from a checkpoint: this rank's rows [row_begin, row_end) of W at `step`,
  // row-major, and of the output vectors when the trainer has them. Collective where the
  // strategy keeps replicas (sgd).
  virtual void Restore(global_int_t step, const std::vector<double>& local_rows,
                       const std::vector<double>& local_output_rows) = 0;
  // Collective. One step (sgd: one global batch; gd: one full-batch step).
  virtual void Step() = 0;
  // Collective. The loss since the last call, and resets (see each strategy).
  virtual double TakeLoss() = 0;
  // Not collective. tau(t) of the theory (SCIENCE.md section 4) for this strategy's loss: a constant of
  // the strategy times the sum of the first t learning rates (TauIncrement relies on it).
  virtual double Tau(global_int_t t) const = 0;
  // Not collective. Pair updates so far of the pairs whose row i this rank owns (summed over
  // ranks: every pair once); 0 for gd.
  virtual double LocalUpdates() const { return 0; }
  // Not collective. Seconds this rank has spent so far in each part of its steps, the same names
  // in the same order on every rank and call (pair sampling: sample, gradient, step, exchange);
  // empty for strategies that do not time theirs.
  virtual std::vector<PhaseSeconds> StepPhases() const { return {}; }
  // This rank's rows [row_begin, row_end) of W (a view; valid until the next Step).
  virtual LocalRows Rows() const = 0;
  // Word2vec's separate output vectors: part of the state (this rank's rows of them), or empty.
  virtual bool has_output_vectors() const { return false; }
  virtual std::vector<double> CopyOutputRows() const { return {}; }

  // A copy of this rank's rows of W.
  std::vector<double> CopyRows() const;
  global_int_t step() const { return step_; }
  double LearningRate(global_int_t t) const { return ScheduledRate(setup_.train, static_cast<double>(t)); }
  // The increment of Tau over step t -> t + 1 (Tau is proportional to the sum of the rates):
  // O(1), where Tau(t) itself sums t rates under the linear schedule.
  double TauIncrement(global_int_t t) const { return Tau(1) / LearningRate(0) * LearningRate(t); }
  const TrainingSetup& setup() const { return setup_; }
  global_int_t row_begin() const { return row_begin_; }
  global_int_t row_end() const { return row_end_; }
  global_int_t n_words() const { return n_words_; }

 protected:
  Trainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& layout);
  // sum_{s < t} eta_s.
  double SumOfRates(global_int_t t) const;

  MPI_Comm comm_;
  int rank_, size_;
  TrainingSetup setup_;
  global_int_t n_words_;
  int d_;
  global_int_t row_begin_, row_end_;
  global_int_t step_ = 0;
};

// Not collective. The bytes per rank that a strategy's own buffers take (W and its replicas, the
// sampled pairs of a step), for n_ranks ranks: an estimate to refuse what cannot fit.
double TrainingBytesPerRank(const TrainingSetup& setup, global_int_t n_words, int n_ranks);

// Collective. Throws qwem::Error on every rank, with the estimate, if TrainingBytesPerRank is
// more than this node's memory divided among its ranks.
void CheckTrainingMemory(MPI_Comm comm, const TrainingSetup& setup, global_int_t n_words);

// Collective. The strategy of setup (gd; sgd with pairs or windows). Throws qwem::Error on
// every rank if the data cannot be trained on (no co-occurring pairs, no tokens).
std::unique_ptr<Trainer> CreateTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs inputs);

}  // namespace qwem
