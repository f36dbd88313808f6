// The gradient of a batch whose negatives are shared (--negative-pairing shared): word2vec's
// negative sampling minibatched as pWord2Vec does, on pair sampling's tied W.
//
// The batch is a list of groups. A group is up to --negative-group positives (i, j_1) ... (i, j_g)
// that share their word i, and K negative words n_1 .. n_K drawn once for the group. Positive a
// keeps K negatives of its own, the pairs (j_a, n_k): paired with its other word j_a, which by the
// symmetry of C has the marginal distribution of i (target pairing's negatives, shared). So a
// group is a g x (K + 1) block of pairs between the rows A = (w_{j_a}) and
// B = (w_i, w_{n_1}, ..., w_{n_K}), column 0 the positives: each A row is loaded once and used K + 1
// times, each B row g times, where the pair kernel (pair_kernel.hpp) loads two scattered rows for
// every pair. With D[a][c] = scale q_{ac} l'(x_{ac}) (x_{ac} = w_{j_a} . b_c),
//   g_{j_a} += sum_c D[a][c] b_c,   g_{b_c} += sum_a D[a][c] w_{j_a}.
//
// Exact on any number of ranks, bit for bit, as the pair kernel is. The groups come in a canonical
// order (by word i, then sample order). Each rank scores the groups whose word it owns (Score),
// the ranks all-gather the derivatives D (B (K + 1) numbers: Derivatives()), and then every rank
// walks all groups in order and adds the terms of the rows it owns (Accumulate). So each row's
// terms are summed in the same order whichever rank owns it. A rank that owns every row does both
// in one pass (Compute), with the same arithmetic. Precision: in double, everything in double; in
// single, the products are taken over W's float copy (their lanes summed in double, D in double)
// and each row's gradient is summed in float, the step w -= eta g then taken in double. Unlike the
// pair kernel's carries into double (pair_kernel.hpp), the float sums run over all of a row's
// terms in the batch: half the bytes of the scattered gradient rows, whose traffic bounds this
// kernel (1.11x at V = 10k, K = 5), at a rounding that stays float's (after 1,000 Gutenberg steps
// W differs from double's by 2.0e-7 of its change W - W0, against 6.7e-8 with the carries).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/options.hpp"
#include "qwem/pair_kernel.hpp"

namespace qwem {

struct SharedBatch {
  int K = 0;                        // negatives per positive
  std::vector<word_id_t> word;      // per group: the shared word i, nondecreasing
  std::vector<std::int32_t> start;  // per group: its first positive, and one more entry: their number
  std::vector<word_id_t> negative;  // per group: its K negative words
  std::vector<word_id_t> partner;   // per positive, group by group: j_a
  std::vector<double> weight;       // per positive: its weight q, then its K negatives' (K + 1 each)

  void Clear(int negatives) {
    K = negatives;
    word.clear();
    start.assign(1, 0);
    negative.clear();
    partner.clear();
    weight.clear();
  }
  std::size_t Groups() const { return word.size(); }
  std::int32_t Positives() const { return start.back(); }
};

class SharedGradients {
 public:
  // Rows of W of length d; this rank sums the gradient of the rows it owns, in precision's
  // arithmetic (the batches it is given are over W in double, or over its float copy in single).
  SharedGradients(int d, RowOwnership own, PairPrecision precision = PairPrecision::kDouble);

  // One rank owns every row: the scores and the gradient in one pass.
  PairBatchTotals Compute(const double* W, const SharedBatch& batch, LossKind loss, double scale);
  PairBatchTotals Compute(const float* Ws, const SharedBatch& batch, LossKind loss, double scale);
  // Several ranks. Score: the derivatives of the groups [first, last) (FirstGroup) into
  // Derivatives(), and their loss. Accumulate, once Derivatives() holds every group's: the terms
  // of the owned rows.
  PairBatchTotals Score(const double* W, const SharedBatch& batch, std::size_t first, std::size_t last, LossKind loss,
                        double scale);
  PairBatchTotals Score(const float* Ws, const SharedBatch& batch, std::size_t first, std::size_t last, LossKind loss,
                        double scale);
  void Accumulate(const double* W, const SharedBatch& batch);
  void Accumulate(const float* Ws, const SharedBatch& batch);
  // The first group whose word is at least row (groups are sorted by word).
  static std::size_t FirstGroup(const SharedBatch& batch, word_id_t row);
  // D, K + 1 per positive in the batch's order (the derivative times scale times the weight);
  // sized by Score, Compute and Accumulate.
  std::vector<double>& Derivatives() { return D_; }

  // The step on the owned rows the batch touched, w_r -= eta g_r (and their float copy in Ws,
  // which single precision needs); their gradients are then cleared for the next batch.
  void Descend(double eta, double* W, float* Ws);
  // The gradient of an owned row (zero if untouched), before Descend.
  std::vector<double> Gradient(word_id_t r) const;

 private:
  template <class Real>
  PairBatchTotals ScoreGroups(const Real* W, const SharedBatch& batch, std::size_t first, std::size_t last,
                              LossKind loss, double scale, bool accumulate);
  template <class Real>
  void AccumulateGroups(const Real* W, const SharedBatch& batch);
  template <class Real>
  void AddTerms(const Real* wa, const Real* const* b, const double* D, word_id_t j, Real* const* gb, int C);
  template <class Real>
  void OwnedRows(const SharedBatch& batch, std::size_t g, bool all_owned, Real** gb);
  template <class Real>
  Real* Rows();  // G_ or Gs_ (a logic error in the other precision)
  template <class Real>
  Real* Row(word_id_t r);                    // its gradient, marked touched
  void PrefetchGradient(word_id_t r) const;  // if owned

  int d_;
  RowOwnership own_;
  bool single_;
  std::vector<double> G_;                 // double: every owned row
  std::vector<float> Gs_;                 // single: every owned row
  std::vector<std::uint8_t> is_touched_;  // per owned row: its gradient is not zero
  std::vector<double> D_;
};

// Collective on comm, whose rank r owns the rows [bounds[r], bounds[r + 1]) (gradients' own): the
// gradient of this rank's rows, by Score on the groups of its words, an all-gather of their
// derivatives and Accumulate (or Compute on one rank). Returns this rank's share of the totals.
PairBatchTotals ComputeShared(MPI_Comm comm, const std::vector<word_id_t>& bounds, SharedGradients& gradients,
                              const double* W, const SharedBatch& batch, LossKind loss, double scale);
PairBatchTotals ComputeShared(MPI_Comm comm, const std::vector<word_id_t>& bounds, SharedGradients& gradients,
                              const float* Ws, const SharedBatch& batch, LossKind loss, double scale);

}  // namespace qwem
