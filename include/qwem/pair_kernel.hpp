// The gradient of one batch of weighted word pairs on a tied W (pair-sampling SGD's inner loop).
//
// A batch is a list of pairs p = (i, j, weight q_p, positive or negative), in a canonical order
// that every rank shares. With x_p = w_i . w_j and l(x) the pair loss (QWEM: -x + x^2 / 4 for a
// positive, x + x^2 / 4 for a negative; SGNS: softplus(-x) and softplus(x)), the gradient of
// sum_p q_p l(x_p) is, for each row r,
//   g_r = scale * sum over the pairs with i = r of q_p l'(x_p) w_j  +  ... with j = r of ... w_i,
// summed in pair order (a pair's i-side term before its j-side one, which matters only for
// i = j). A rank computes g_r only for the rows it owns (a range of rows): it takes every
// pair's two directed entries (r, other), keeps those of its rows, groups them by row (a stable
// counting sort, so each row's entries stay in pair order) and, row by row, in runs of kCarry
// entries, scores each entry against w_r (held in cache; a pair whose two rows are both this
// rank's is scored once, at its first entry, as the dot product is the same either way round) and
// then sums the run's terms l' q w_other, a span of columns at a time in registers while the
// run's rows stay in L1: one pass over the other rows and no scattered writes. Each element's
// terms are added one by one in entry order, as if into memory. The sum of each row is in the
// same order whichever rank owns it, so the gradient does not depend on the number of ranks, bit
// for bit; the vector code fixes its own order of the d products (two vectors of partial sums),
// the same on every rank of one build.
//
// Two precisions (--pair-precision). Double: products and sums in double over W. Single: over a
// float copy of W (half the bytes per scattered row, twice the lanes per instruction), scores
// summed in float lanes and then in double, each row's terms summed in float and carried into its
// double gradient every kCarry entries (so no float sum runs over more than kCarry terms). The
// order is as fixed as in double, so single too gives the same gradient on any rank count.
#pragma once

#include <vector>

#include "qwem/common.hpp"
#include "qwem/options.hpp"

namespace qwem {

struct WeightedPair {
  word_id_t i = -1, j = -1;  // i < 0: an empty slot (skipped)
  double weight = 0;
  bool positive = false;
};

// The rows owned here: [begin, end).
struct RowOwnership {
  word_id_t begin = 0, end = 0;
  bool Owns(word_id_t r) const { return r >= begin && r < end; }
  global_int_t Slot(word_id_t r) const { return r - begin; }
};

// What one batch contributed on this rank: sum q l over the pairs whose row i is owned here, and
// how many of those pairs there were (positives, and all).
struct PairBatchTotals {
  double loss = 0, positives = 0, pairs = 0;
};

// SGNS's pair losses of n products x, as both kernels compute them (in vector lanes, with their own
// exp and log1p; src/pair_vector.hpp): y = -x for a positive, x for a negative, l = softplus(y),
// dl = l'(x) = -sigmoid(-x) for a positive, sigmoid(x) for a negative. Each result depends on its
// own x alone, not on n or its place.
void SgnsPairLosses(int n, const double* x, const bool* positive, double* l, double* dl);

// W's rows in single precision, as --pair-precision single's kernel reads them.
void ToSingle(const double* W, word_id_t begin, word_id_t end, int d, float* Ws);

class PairGradients {
 public:
  // Entries of a row summed in float before they are carried into double (single precision);
  // in both precisions, the run of entries the kernel scores before it sums their terms.
  static constexpr int kCarry = 32;
  // Rows of W of length d.
  PairGradients(int d, RowOwnership own);

  // g_r (as above) of the owned rows that the batch touches, into Gradient(k) for k <
  // Touched().size(), Touched() in ascending row order. W is the full replica (row-major); the
  // single-precision kernel reads Ws, its float copy.
  PairBatchTotals Compute(const double* W, const std::vector<WeightedPair>& pairs, LossKind loss, double scale);
  PairBatchTotals Compute(const float* Ws, const std::vector<WeightedPair>& pairs, LossKind loss, double scale);
  // The step on the touched rows, w_r -= eta g_r, and their float copy in Ws if not null.
  void Descend(double eta, double* W, float* Ws) const;

  const std::vector<word_id_t>& Touched() const { return touched_; }
  const double* Gradient(std::size_t k) const { return G_.data() + k * static_cast<std::size_t>(d_); }

 private:
  // A directed entry carries what scoring it needs, so that a row's entries are read in order,
  // not the batch at random: its pair's weight and kind, whether it is the pair's i-side entry,
  // and the link between a pair's two entries when both rows are this rank's (the first, in the
  // lower row, is scored and writes its score to the second's place in kept_).
  struct Entry {
    word_id_t other;
    std::int32_t code;     // 2 link + (i-side ? 1 : 0); link: the second entry's place, or kAlone or kKept
    double signed_weight;  // the pair's weight, its sign bit set for a negative pair (-0.0 too)
    static constexpr std::int32_t kAlone = -1;  // scored here, the other row another rank's
    static constexpr std::int32_t kKept = -2;   // a pair's second entry: its score is in kept_
    bool positive() const { return !std::signbit(signed_weight); }
    double weight() const { return std::fabs(signed_weight); }
    bool i_side() const { return (code & 1) != 0; }
    std::int32_t link() const { return code >> 1; }  // arithmetic shift: -1 and -2 stay
  };
  // The counting sort of the batch's directed entries by owned row (entries_, touched_, start_).
  std::size_t Group(const std::vector<WeightedPair>& pairs);
  template <class Real>
  PairBatchTotals Accumulate(const Real* W, const std::vector<WeightedPair>& pairs, LossKind loss, double scale);

  int d_;
  RowOwnership own_;
  std::vector<std::int32_t> start_;  // per slot: first entry (counting sort), then its count
  std::vector<Entry> entries_;
  std::vector<word_id_t> touched_;
  std::vector<double> G_;  // touched_.size() rows
  struct Score {
    double l, dl;  // the pair's loss and its derivative at x_p
  };
  std::vector<Score> kept_;  // per entry: a pair's score, written by its first entry for its second
};

}  // namespace qwem
