// Learning dynamics (SCIENCE.md section 4): one tied embedding W (V x d) trained from small
// Gaussian initialization, by
//  * sgd: data-parallel stochastic gradient descent on the sampled QWEM loss (reweighted so
//    that its expectation is the unweighted factorization of M*) or on word2vec's SGNS loss;
//  * gd:  deterministic full-batch gradient descent on ||M* - W W^T||_F^2 / V^2 with the
//    distributed sparse + rank-one M*, the exact setting of the theory.
//
// Sampling is keyed by (seed, step, sample index), never by rank, so for a fixed seed and
// global batch the trajectory does not depend on the number of ranks:
//  * a positive pair is drawn from P_ij, the windowed (L+1-j)-weighted pair distribution, by
//    inverting the cumulative counts of C in its global (row-major) order. Each rank owns a
//    contiguous slice of that order (its rows of C: "its shard" of the pair space), draws the
//    samples whose uniform falls in its slice, and knows C_ij for them;
//  * negatives come from replicated alias tables (unigram for QWEM, nu P_i P_j; unigram^0.75
//    with the positive's target word for SGNS), drawn identically on every rank;
//  * QWEM's weight q_ij = c / (P_ij + nu P_i P_j), c = (1 + nu) / V^2 (so E[q] = 1), needs C_ij
//    of the negatives: the rank owning row i looks it up and one MPI_Allreduce shares them.
// Exact data-parallel mode (--sync-every 1): every rank holds a replica of W, the sample list is
// shared, each rank accumulates the gradient of the rows it owns (i mod P) in sample order, and
// the updated rows are all-gathered: the result is bit-identical on any number of ranks.
// Local SGD (--sync-every K > 1): each rank steps its replica with its own samples (gradient
// scaled to the global batch) and the replicas are averaged every K steps (K = 1 would equal the
// exact mode); trajectories then depend on the rank count.
// Window sampling (--sampling windows, SGNS only): word2vec's own stream over each rank's shard,
// delegated to WindowSgns (sgd_windows.hpp); its trajectory depends on the rank count.
#pragma once

#include <mpi.h>
#include <petscmat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/sgd_windows.hpp"
#include "qwem/target.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

enum class TrainMode { kSgd, kGd };
enum class LossKind { kQwem, kSgns };
// sgd's samples: pairs drawn from P_ij (exact data-parallel, any rank count gives the same W), or
// word2vec's windows streamed from each rank's shard (sgns only; see sgd_windows.hpp).
enum class Sampling { kPairs, kWindows };
TrainMode ParseTrainMode(const std::string& name);  // sgd | gd; throws qwem::Error
LossKind ParseLossKind(const std::string& name);    // qwem | sgns; throws qwem::Error
Sampling ParseSampling(const std::string& name);    // pairs | windows; throws qwem::Error
std::string ToString(TrainMode mode);
std::string ToString(LossKind loss);

struct TrainOptions {
  TrainMode mode = TrainMode::kSgd;
  LossKind loss = LossKind::kQwem;
  Sampling sampling = Sampling::kPairs;
  int dim = 200;
  double init_scale = 1e-3;     // per-entry standard deviation of W0
  std::uint64_t seed = 1;
  global_int_t steps = 1000;
  global_int_t batch = 4096;    // positive pairs per step, global (sgd; windows: corpus positions)
  int negatives = 1;            // negatives per positive (sgd)
  double nu = 1.0;              // negative-sampling weight of M*
  double lr = 1.0;              // eta of the batch-mean gradient (windows: alpha per pair)
  bool lr_linear = false;       // linear decay to 1e-4 eta at the last step (word2vec's schedule)
  double subsample = 0;         // sgns: word2vec's sample threshold t (0: off)
  double ns_power = 0.75;       // sgns: negatives from unigram^power
  int sync_every = 1;           // 1: exact data-parallel SGD; K > 1: local SGD
  int window = 16;              // L, for P_ij
  bool separate_output = false; // windows: word2vec's separate output vectors (pairs: tied only)
  int context_group = 4;        // windows: contexts sharing one draw of negatives (0: whole window)
};

// Counter-based random numbers: a pure function of (seed, step, index, lane).
std::uint64_t CounterRandom(std::uint64_t seed, std::uint64_t step, std::uint64_t index, std::uint64_t lane);
// A uniform double in [0, 1) from the top 53 bits of r.
inline double ToUnit(std::uint64_t r) { return static_cast<double>(r >> 11) * 0x1.0p-53; }
// floor(r / 2^64 * n) for 0 <= n < 2^63: a uniform integer in [0, n).
inline global_int_t Scale(std::uint64_t r, global_int_t n) {
  return static_cast<global_int_t>((static_cast<unsigned __int128>(r) * static_cast<std::uint64_t>(n)) >> 64);
}

// Walker's alias table over weights (replicated, deterministic).
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  // Draws an index from one 64-bit random number.
  word_id_t Draw(std::uint64_t r) const;
  std::size_t size() const { return prob_.size(); }

 private:
  std::vector<double> prob_;
  std::vector<word_id_t> alias_;
};

// Per-step measurements, summed over ranks only when asked (Trainer::TakeLoss).
struct StepCounters {
  double loss_sum = 0;       // sum of per-pair losses (times weights) of this rank's share
  double n_positive = 0;     // positives used (after subsampling)
  double n_updates = 0;      // pairs (positives + negatives) whose row i this rank owns: summed
                             // over ranks, each pair of the step once
};

class Trainer {
 public:
  // Collective. `counts` gives C and the row layout (the tracked rows of W are the rows this rank
  // owns in it, like the eigenvectors); `target` (sparse + rank one M*) is needed for gd only.
  // Window sampling trains on `tokens`, this rank's in-vocabulary ids (kBoundary between
  // documents; see WindowSgns); the other modes ignore it.
  Trainer(MPI_Comm comm, const TrainOptions& options, const CooccurrenceRows& counts, const Vocabulary& vocab,
          const Target* target, std::vector<word_id_t> tokens = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Not collective. W0 with entries N(0, init_scale^2) keyed by (seed, row, column).
  void Initialize();
  // Not collective. Continue from a checkpoint: this rank's rows [row_begin, row_end) of W at
  // `step`, row-major (sgd replicates them with one all-gather: collective in that mode), and
  // of the output vectors when the trainer has them.
  void Restore(global_int_t step, const std::vector<double>& local_rows,
               const std::vector<double>& local_output_rows = {});

  // Collective. One step (sgd: one global batch; gd: one full-batch step).
  void Step();

  global_int_t step() const { return step_; }
  double LearningRate(global_int_t t) const;
  // tau(t) of the theory (SCIENCE.md section 4): gd 8 sum eta / V^2, sgd-qwem 2 c sum eta,
  // sgd-sgns the QWEM conversion times 1/2 (the quadratic term of SGNS's loss is 1/2 QWEM's: a
  // qualitative guide only).
  double Tau(global_int_t t) const;
  // Collective. The loss since the last call, and resets: gd the exact ||M* - W W^T||_F^2 / V^2
  // (mean over the steps); sgd-qwem the same quantity estimated from the sampled pairs
  // (4 / (1 + nu) times the mean weighted pair loss per positive, plus ||M*||_F^2 / V^2);
  // sgd-sgns the mean SGNS loss per positive (its negatives included).
  double TakeLoss();
  // Not collective. Pair updates so far of the pairs whose row i this rank owns (summed over
  // ranks: every pair once).
  double LocalUpdates() const { return windows_ ? windows_->n_updates() : total_updates_; }

  // This rank's rows [row_begin, row_end) of W (a view; valid until the next Step).
  LocalRows Rows() const;
  // Collective. A copy of this rank's rows (for checkpoints).
  std::vector<double> CopyRows() const;
  // Window sampling with separate output vectors: they are part of the state (and these are
  // this rank's rows of them); otherwise false and empty.
  bool has_output_vectors() const { return windows_ && windows_->separate_output(); }
  std::vector<double> CopyOutputRows() const;
  global_int_t row_begin() const { return row_begin_; }
  global_int_t row_end() const { return row_end_; }
  const TrainOptions& options() const { return opt_; }
  // c of the QWEM reweighting, (1 + nu) / V^2.
  double reweight_constant() const { return c_; }

 private:
  void StepSgd();
  void StepGd();
  void DrawPositives();
  void DrawNegatives();
  void SyncReplicas();

  MPI_Comm comm_;
  int rank_, size_;
  TrainOptions opt_;
  const CooccurrenceRows& counts_;
  const Target* target_;
  global_int_t V_;
  int d_;
  global_int_t row_begin_, row_end_;
  double c_ = 0, pair_norm_ = 0;  // c; N (L+1)/2 (P_ij = C_ij / pair_norm_)
  std::vector<double> unigram_;   // P_i
  std::vector<double> keep_;      // sgns subsampling keep probabilities
  AliasTable negative_table_;
  // Positive sampling: this rank's slice [weight_begin_, weight_begin_ + cumulative_.back()).
  std::vector<global_int_t> cumulative_;
  global_int_t weight_begin_ = 0, weight_total_ = 0;
  // W: sgd replica (V x d); gd this rank's rows only.
  mutable std::vector<double> W_;
  std::vector<double> G_;            // sgd: gradient of owned rows (slot i / P)
  std::vector<unsigned char> touched_;
  std::vector<word_id_t> touched_list_;
  struct Pair {
    word_id_t i = -1, j = -1;
    double weight = 0;  // q (times nu / K for QWEM negatives); SGNS: 1
    bool mine = false;  // local SGD: drawn here
  };
  std::vector<Pair> positives_, negatives_;
  std::vector<double> lookup_;
  // sgd with window sampling: the replica lives in windows_ (float); Rows() copies this rank's
  // rows into W_.
  std::unique_ptr<WindowSgns> windows_;
  double window_loss_ = 0, window_positives_ = 0;  // windows_'s totals at the last TakeLoss
  // gd
  Mat W_dense_ = nullptr, Y_dense_ = nullptr;
  double mstar_norm2_ = 0;
  global_int_t step_ = 0;
  StepCounters counters_;
  double total_updates_ = 0;
};

// Collective. Singular values of W (all d, descending: square roots of the eigenvalues of the
// all-reduced d x d Gram matrix) and, if eigenvectors are given (rows in W's layout), the overlap
// of W's top-k left singular subspace with the top-k eigenvectors, ||U_k^T V_k||_F^2 / k, for
// k = 1 .. overlap_k.
struct SpectrumSnapshot {
  std::vector<double> singular_values;
  std::vector<double> overlap;  // overlap[k-1] for the top-k subspaces
};
SpectrumSnapshot MeasureSpectrum(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                 int overlap_k);

// Collective. a_0 per mode, the initial condition of mode k in the theory, for the first n modes:
// the squared norm of u_k = W^T v_k after removing its components along u_1 .. u_{k-1}. Modes
// are learned in eigenvalue order and each claims its direction of R^d, so mode k grows from
// what is left (with d columns, modes beyond d get a_0 = 0 and are never learned).
std::vector<double> ProjectedSquares(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                     int n);

}  // namespace qwem
