// SGNS trained the way word2vec reads a corpus (--sampling windows), minibatched as in Intel's
// pWord2Vec: for each retained centre word, the contexts of its shrunk window share one set of
// negatives, so the window's scores and both gradients are three small matrix products
// (contexts x outputs x d) instead of 2b x (K+1) separate dot products and row updates.
//
// The corpus is each rank's own shard of in-vocabulary token ids (kBoundary between documents).
// Step t covers, on every rank, the same fraction of its shard: local positions
// [floor(t B n / N), floor((t+1) B n / N)) of its shard repeated end to end (an epoch is N / B
// steps), where B is the global batch in corpus positions, n the rank's positions and N all
// ranks'. Within that chunk the rank works like one word2vec thread on its replica of W:
//  * token p of epoch e is kept with word2vec's probability min(1, (sqrt(f / t) + 1) t / f);
//  * a kept centre draws b uniform in 1..L and takes up to b kept tokens on each side as
//    contexts, within its document and its chunk (windows do not cross chunk edges, as
//    word2vec's do not cross sentences);
//  * the contexts are taken in groups of G (in window order: the left ones nearest first, then
//    the right ones), and each group draws its own K negatives from unigram^power (one equal
//    to the centre is dropped). G = 1 is word2vec's per-pair negatives; larger G shares them
//    over more contexts (pWord2Vec), which turns more of the work into matrix products;
//  * for each group in turn, the outputs o (the centre with label 1, the negatives with label 0) and contexts c give
//    scores s_co = w_c . u_o, g_co = alpha (label_o - sigma(s_co)) (0 if |s_co| >= 6, as in
//    gensim), and the update is
//    w_c += sum_o g_co u_o and u_o += sum_c g_co w_c, both from the values before the group,
//    where u is word2vec's separate output vector (C, zero at the start) or, tied, W itself;
//  * alpha = ScheduledRate(train options, t + fraction of the chunk done).
// Every random number is CounterRandom(seed ^ kWindowStream, epoch, global position, lane) with
// lanes 0 (keep), 1 (b) and 2 + g K + k (negative k of group g), where a position's global index is its rank
// offset plus its local index. After the chunk, the ranks' changes of W are summed
// (MPI_Allreduce) and added to the W (and C) all of them started the step from, so every replica is the
// same after each step. With one rank this is word2vec's sequential SGD; with P ranks, each step
// is P such sequences from one W, summed: the trajectory depends on P (and is the same, run to
// run, for the same P, seed and batch).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/trainer.hpp"

namespace qwem {

// Local positions [first, last) of a rank's shard (n of the N positions of all ranks, counted
// with repetition over epochs) covered by step t with a global batch of B positions.
struct StepChunk {
  global_int_t first = 0, last = 0;
};
StepChunk WindowChunk(global_int_t t, global_int_t B, global_int_t n, global_int_t N);

// The stream of WindowSgns's random numbers (xor-ed into the seed).
inline constexpr std::uint64_t kWindowStream = 0x57494e444f575321ULL;  // "WINDOWS!"

// The settings it reads from the setup: dim (d), window (L), and of the train section negatives
// (K per group of contexts), context_group (G), subsample (t), seed, batch (B: corpus positions
// per step, global), steps, lr and lr_schedule (alpha per pair), output_vectors (separate:
// word2vec's output vectors C, zero at the start, scores w_c . c_o; tied: one W for both).
class WindowSgns {
 public:
  // Collective. tokens: this rank's in-vocabulary ids (kBoundary between documents);
  // word_counts: the corpus count of every vocabulary word (V of them), the same on every rank,
  // and in_vocab_tokens their sum.
  WindowSgns(MPI_Comm comm, const TrainingSetup& setup, std::vector<word_id_t> tokens,
             const std::vector<global_int_t>& word_counts, global_int_t in_vocab_tokens);
  ~WindowSgns();
  WindowSgns(const WindowSgns&) = delete;
  WindowSgns& operator=(const WindowSgns&) = delete;

  // Not collective. Sets the replica from W and, with separate outputs, C (V x d, row-major, the
  // same on every rank; C null: zero, as word2vec starts).
  void SetW(const double* W, const double* C = nullptr);
  // Not collective. Rows [r0, r1) of W (or of C: output) into out (row-major, d columns).
  void GetRows(global_int_t r0, global_int_t r1, double* out, bool output = false) const;
  bool separate_output() const;
  // Collective. Step t: this rank's chunk, then the summed changes.
  void Step(global_int_t t);

  // Since construction, this rank's: positive pairs trained, pair updates (contexts x outputs)
  // and the summed SGNS loss of its positives (each with its negatives).
  double n_positive() const { return n_positive_; }
  double n_updates() const { return n_updates_; }
  double loss_sum() const { return loss_sum_; }
  // Expected positive pairs per step over all ranks: B times the kept fraction of positions
  // times L + 1 (the mean 2b), ignoring document and chunk edges.
  double ExpectedPositivesPerStep() const { return expected_positives_; }
  global_int_t total_positions() const { return N_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  global_int_t N_ = 0;
  double expected_positives_ = 0;
  double n_positive_ = 0, n_updates_ = 0, loss_sum_ = 0;
};

}  // namespace qwem
