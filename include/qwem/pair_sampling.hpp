// Random access to the co-occurrence counts for pair-sampling SGD: drawing positive pairs from
// P_ij in O(1), and looking up C_ij of a drawn negative.
//
// A positive is drawn in two stages, each an exact integer alias table (Walker's method on
// integer weights: index k with probability exactly w_k / sum w):
//  1. its row i from the row totals T_i = sum_j C_ij (a table replicated on every rank);
//  2. its column j from row i's counts, by the rank that owns row i (a table per row).
// Both tables depend only on C, not on how its rows are split over ranks, so a sample keyed by
// (seed, step, index) is the same pair on any number of ranks.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/options.hpp"
#include "qwem/random.hpp"

namespace qwem {

// Runs first(k), then(k) and last(k) for k = 0 .. n - 1, each stage one chunk of k behind the one
// before it: what a stage prefetches has arrived when the next one reads it, and is still in
// cache (a pass over all n items first would have evicted the early ones). Each stage sees k in
// increasing order.
template <class First, class Then, class Last>
void PrefetchPipeline(std::size_t n, First first, Then then, Last last) {
  constexpr std::size_t kChunk = 64;
  for (std::size_t c = 0; c < n + 2 * kChunk; c += kChunk) {
    for (std::size_t k = c; k < std::min(n, c + kChunk); ++k) first(k);
    if (c >= kChunk)
      for (std::size_t k = c - kChunk; k < std::min(n, c); ++k) then(k);
    if (c >= 2 * kChunk)
      for (std::size_t k = c - 2 * kChunk; k < std::min(n, c - kChunk); ++k) last(k);
  }
}

// Walker's alias tables over integer weights, one per segment [offsets[s], offsets[s+1]) of a
// flat array (one segment: a single table).
class IntegerAlias {
 public:
  IntegerAlias() = default;
  // weights: nonnegative; offsets: size n_segments + 1, nondecreasing from 0.
  IntegerAlias(const global_int_t* weights, const std::vector<global_int_t>& offsets);
  // An index into the flat array (in segment s), from two 64-bit random numbers; -1 for an
  // empty or all-zero segment.
  global_int_t Draw(std::size_t s, std::uint64_t r1, std::uint64_t r2) const {
    const global_int_t first = offsets_[s], n = offsets_[s + 1] - first, total = totals_[s];
    if (n == 0 || total <= 0) return -1;
    const global_int_t k = Scale(r1, n);
    const Bucket& b = buckets_[first + k];
    return first + (Scale(r2, total) < b.threshold ? k : b.alias);
  }
  global_int_t Total(std::size_t s) const { return totals_[s]; }
  // Starts loading the bucket Draw(s, r1, .) reads (to overlap many draws' cache misses).
  void Prefetch(std::size_t s, std::uint64_t r1) const {
    const global_int_t n = offsets_[s + 1] - offsets_[s];
    if (n > 0) __builtin_prefetch(buckets_.data() + offsets_[s] + Scale(r1, n));
  }

 private:
  struct Bucket {
    global_int_t threshold;  // in [0, total]: below it the bucket's own index, else its alias
    global_int_t alias;      // within the segment
  };
  std::vector<global_int_t> offsets_, totals_;
  std::vector<Bucket> buckets_;
};

// A drawn column of a row and its count C_ij.
struct DrawnColumn {
  word_id_t j = -1;
  global_int_t count = 0;
};

// Collective (builds the replicated row table). Draws from P_ij of the counts.
class PositiveSampler {
 public:
  PositiveSampler(MPI_Comm comm, const CooccurrenceRows& counts);
  // Not collective: the row of a sample (the same on every rank).
  word_id_t Row(std::uint64_t r1, std::uint64_t r2) const { return static_cast<word_id_t>(rows_.Draw(0, r1, r2)); }
  // Not collective, on the rank owning row i: the sample's column j (C_ij / T_i) and its count, by
  // the same exact alias draw as IntegerAlias over row i's counts. Its bucket holds both outcomes'
  // columns and counts, so a draw reads one 32-byte bucket (one cache line), not a bucket and then
  // counts.cols and counts.values (three scattered lines: most of a positive's cost). The price is
  // memory: 32 bytes per nonzero of this rank's rows, twice a bare alias bucket (Gutenberg at
  // V = 10k on 1 rank: peak RSS 1.45 GiB against 1.05).
  DrawnColumn Column(word_id_t i, std::uint64_t r1, std::uint64_t r2) const {
    const std::size_t r = static_cast<std::size_t>(i - row_begin_);
    const global_int_t first = row_ptr_[r], n = row_ptr_[r + 1] - first, total = row_totals_[i];
    if (n == 0 || total <= 0) return {};
    const ColumnBucket& b = columns_[first + Scale(r1, n)];
    const int pick = Scale(r2, total) < b.threshold ? 0 : 1;
    return {b.column[pick], b.count[pick]};
  }
  // Starts loading the bucket Column(i, r1, .) reads.
  void PrefetchColumn(word_id_t i, std::uint64_t r1) const {
    const std::size_t r = static_cast<std::size_t>(i - row_begin_);
    const global_int_t n = row_ptr_[r + 1] - row_ptr_[r];
    if (n > 0) __builtin_prefetch(columns_.data() + row_ptr_[r] + Scale(r1, n));
  }
  // The global sum of C (the denominator of P_ij's sampling weights), and its row sums.
  global_int_t Total() const { return rows_.Total(0); }
  const std::vector<global_int_t>& RowTotals() const { return row_totals_; }

 private:
  // Walker's bucket k of a row: below threshold the row's k-th entry (outcome 0), else its alias
  // (outcome 1), each as its column and count.
  struct alignas(32) ColumnBucket {
    global_int_t threshold;
    word_id_t column[2];
    global_int_t count[2];
  };
  static_assert(sizeof(ColumnBucket) == 32, "a column bucket is half a cache line");
  global_int_t row_begin_;
  std::vector<global_int_t> row_ptr_;     // this rank's rows' offsets in counts (local row r)
  std::vector<global_int_t> row_totals_;  // every row's T_i (by word)
  IntegerAlias rows_;
  std::vector<ColumnBucket> columns_;  // per nonzero of this rank's rows, in counts' order
};

// The weights of pair sampling's samples (--weights; options.hpp): replicated, not collective.
class SampleWeights {
 public:
  // unigram: P_i (kept by reference); pair_norm: N (L+1)/2 (P_ij = C_ij / pair_norm); c: the
  // reweighting constant (1 + nu) / V^2; K negatives per positive.
  // smoothing beta (qwem weights): negatives' words from Q = (1 - beta) P + beta / V, each drawn
  // word's weight times P / Q (both words with iid pairing, the drawn one with target pairing).
  SampleWeights(PairWeights kind, const std::vector<double>& unigram, double pair_norm, double c, double subsample,
                double nu, int K, double smoothing = 0, NegativePairing pairing = NegativePairing::kIid);
  PairWeights kind() const { return kind_; }
  // Q_i = (1 - beta) P_i + beta / V (P normalized; beta = 0: P_i).
  double Smoothed(std::size_t i) const {
    return (1 - smoothing_) * unigram_[i] + smoothing_ / static_cast<double>(unigram_.size());
  }
  // A positive (i, j) of count C_ij: qwem c / (P_ij + nu P_i P_j), word2vec accept_i accept_j,
  // sampled 1.
  double Positive(word_id_t i, word_id_t j, global_int_t count) const {
    switch (kind_) {
      case PairWeights::kQwem:
        return c_ / (static_cast<double>(count) / pair_norm_ + nu_ * unigram_[i] * unigram_[j]);
      case PairWeights::kWord2vec:
        return accept_[i] * accept_[j];
      case PairWeights::kSampled:
        break;
    }
    return 1.0;
  }
  // A negative: qwem (nu / K) c / (P_ij + nu P_i P_j) (times P_j / Q_j, and P_i / Q_i with iid
  // pairing, when smoothed), word2vec (nu / K) (accept_i r_j + accept_j r_i) / 2, sampled 1.
  // (Inline: a step weighs up to a batch of negatives per negative word.)
  double Negative(word_id_t i, word_id_t j, global_int_t count) const {
    switch (kind_) {
      case PairWeights::kQwem: {
        double w = negative_c_ / (static_cast<double>(count) / pair_norm_ + nu_ * unigram_[i] * unigram_[j]);
        if (smoothing_ > 0) w *= both_drawn_ ? p_over_q_[i] * p_over_q_[j] : p_over_q_[j];
        return w;
      }
      case PairWeights::kWord2vec:
        return nu_ / K_ * 0.5 * (accept_[i] * ratio_[j] + accept_[j] * ratio_[i]);
      case PairWeights::kSampled:
        break;
    }
    return 1.0;
  }
  // --weights sampled: the probability that subsampling keeps a positive (i, j); else 1.
  double Keep(word_id_t i, word_id_t j) const { return keep_.empty() ? 1.0 : keep_[i] * keep_[j]; }
  // A bound on Keep(i, .): keep_i (each keep_j <= 1, so keep_i keep_j <= keep_i, rounded too). A
  // draw u >= KeepBound(i) fails Keep(i, j) for every j, before j is drawn.
  double KeepBound(word_id_t i) const { return keep_.empty() ? 1.0 : keep_[i]; }
  // Whether Negative needs C_ij (qwem weights).
  bool NeedsNegativeCounts() const { return kind_ == PairWeights::kQwem; }
  // The distribution negatives are drawn from (not normalized): the unigram (smoothed: Q), or
  // unigram^0.75 for sampled weights.
  std::vector<double> NegativeDistribution() const;

 private:
  PairWeights kind_;
  const std::vector<double>& unigram_;
  double pair_norm_, nu_, c_;
  int K_;
  double negative_c_;                   // qwem: (nu / K) c
  std::vector<double> keep_;            // sampled: word2vec's keep probabilities
  std::vector<double> accept_, ratio_;  // word2vec: keep probabilities and u^0.75 / u, over their means
  double smoothing_;
  bool both_drawn_;               // iid pairing: both words of a negative drawn from Q
  std::vector<double> p_over_q_;  // smoothed qwem weights: P_i / Q_i
};

// C_ij of this rank's rows in O(1) for dense rows (a bitmap of the row's columns with a running
// count every 64 columns), by binary search for the others. Rows are dense when they hold at
// least V / 8 nonzeros, so the bitmaps take at most half the space of those rows' column indices.
class CountLookup {
 public:
  explicit CountLookup(const CooccurrenceRows& counts);
  // 0 if absent or if row i is not this rank's.
  global_int_t operator()(word_id_t i, word_id_t j) const {
    const global_int_t k = Find(i, j);
    return k < 0 ? 0 : c_.values[k];
  }
  // Starts loading what Find(i, j) reads first.
  void Prefetch(word_id_t i, word_id_t j) const;
  // The place of C_ij in counts.values, or -1 (absent, or row i not this rank's).
  global_int_t Find(word_id_t i, word_id_t j) const;
  // C at a place Find gave (not -1), and a prefetch of it.
  global_int_t At(global_int_t k) const { return c_.values[k]; }
  void PrefetchAt(global_int_t k) const { __builtin_prefetch(c_.values.data() + k); }

 private:
  struct Block {
    std::uint64_t bits;
    std::int64_t before;  // nonzeros of the row before this block
  };
  const CooccurrenceRows& c_;
  std::vector<global_int_t> block_offset_;  // per local row: first block, or -1 (sparse row)
  std::vector<Block> blocks_;
};

}  // namespace qwem
