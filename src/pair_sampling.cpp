#include "qwem/pair_sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qwem/pair_stats.hpp"
#include "qwem/random.hpp"

namespace qwem {

namespace {

// Walker's method on integer weights, exactly, one segment at a time (its work vectors reused
// between segments). Build: on n > 0 weights w of sum total > 0, calls set(k, threshold, alias)
// once for each bucket k, threshold in [0, total] (below it the bucket's own index k, else
// alias, in [0, n)).
class AliasBuilder {
 public:
  template <class Set>
  void Build(const global_int_t* w, global_int_t n, global_int_t total, Set set);

 private:
  std::vector<unsigned __int128> scaled_;
  std::vector<std::int32_t> small_, large_, alias_;
  std::vector<global_int_t> threshold_;
};

template <class Set>
void AliasBuilder::Build(const global_int_t* w, global_int_t n, global_int_t total, Set set) {
  // Bucket k holds n w_k / total of the mass in units of total: scaled_k = n w_k against a
  // capacity of total per bucket, all in integers.
  scaled_.assign(n, 0);
  threshold_.assign(n, total);  // what remains at the end is exactly full (the sums are exact)
  alias_.resize(n);
  small_.clear();
  large_.clear();
  for (global_int_t k = 0; k < n; ++k) {
    scaled_[k] = static_cast<unsigned __int128>(w[k]) * static_cast<unsigned __int128>(n);
    alias_[k] = static_cast<std::int32_t>(k);
    (scaled_[k] < static_cast<unsigned __int128>(total) ? small_ : large_).push_back(static_cast<std::int32_t>(k));
  }
  const auto cap = static_cast<unsigned __int128>(total);
  while (!small_.empty() && !large_.empty()) {
    const std::int32_t a = small_.back(), b = large_.back();
    small_.pop_back();
    threshold_[a] = static_cast<global_int_t>(scaled_[a]);
    alias_[a] = b;
    scaled_[b] -= cap - scaled_[a];
    if (scaled_[b] < cap) {
      large_.pop_back();
      small_.push_back(b);
    }
  }
  for (global_int_t k = 0; k < n; ++k) set(k, threshold_[k], alias_[k]);
}

}  // namespace

IntegerAlias::IntegerAlias(const global_int_t* weights, const std::vector<global_int_t>& offsets)
    : offsets_(offsets), totals_(offsets.empty() ? 0 : offsets.size() - 1, 0) {
  const global_int_t n_all = offsets.empty() ? 0 : offsets.back();
  buckets_.assign(n_all, Bucket{0, 0});
  AliasBuilder builder;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const global_int_t first = offsets[s], n = offsets[s + 1] - first;
    const global_int_t total = std::accumulate(weights + first, weights + first + n, global_int_t{0});
    totals_[s] = total;
    if (n == 0 || total <= 0) continue;
    builder.Build(weights + first, n, total,
                  [&](global_int_t k, global_int_t t, std::int32_t a) { buckets_[first + k] = Bucket{t, a}; });
  }
}

PositiveSampler::PositiveSampler(MPI_Comm comm, const CooccurrenceRows& counts)
    : row_begin_(counts.row_begin), row_ptr_(counts.row_ptr.begin(), counts.row_ptr.end()) {
  const global_int_t n_local = counts.n_local_rows();
  std::vector<global_int_t> local(n_local);
  for (global_int_t r = 0; r < n_local; ++r)
    local[r] = std::accumulate(counts.values.begin() + counts.row_ptr[r], counts.values.begin() + counts.row_ptr[r + 1],
                               global_int_t{0});
  // Each row's column table, its buckets holding their outcomes' columns and counts.
  columns_.resize(counts.values.size());
  AliasBuilder builder;
  for (global_int_t r = 0; r < n_local; ++r) {
    const global_int_t first = row_ptr_[r], n = row_ptr_[r + 1] - first;
    if (n == 0 || local[r] <= 0) continue;
    const word_id_t* cols = counts.cols.data() + first;
    const global_int_t* values = counts.values.data() + first;
    builder.Build(values, n, local[r], [&](global_int_t k, global_int_t t, std::int32_t a) {
      columns_[first + k] = ColumnBucket{t, {cols[k], cols[a]}, {values[k], values[a]}};
    });
  }
  // Every row's total on every rank, in row order.
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<int> sizes(size), displs(size);
  for (int r = 0; r < size; ++r) {
    sizes[r] = static_cast<int>(counts.row_ranges[r + 1] - counts.row_ranges[r]);
    displs[r] = static_cast<int>(counts.row_ranges[r]);
  }
  row_totals_.resize(counts.n_words);
  QWEM_MPI(MPI_Allgatherv(local.data(), static_cast<int>(n_local), MPI_INT64_T, row_totals_.data(), sizes.data(),
                          displs.data(), MPI_INT64_T, comm));
  rows_ = IntegerAlias(row_totals_.data(), {0, counts.n_words});
}

CountLookup::CountLookup(const CooccurrenceRows& counts) : c_(counts) {
  const global_int_t n_local = counts.n_local_rows(), V = counts.n_words;
  const global_int_t n_blocks = (V + 63) / 64;
  block_offset_.assign(n_local, -1);
  for (global_int_t r = 0; r < n_local; ++r) {
    const global_int_t b = counts.row_ptr[r], e = counts.row_ptr[r + 1];
    if ((e - b) * 8 < V) continue;
    block_offset_[r] = static_cast<global_int_t>(blocks_.size());
    blocks_.resize(blocks_.size() + n_blocks, Block{0, 0});
    Block* row = blocks_.data() + block_offset_[r];
    for (global_int_t k = b; k < e; ++k) row[counts.cols[k] / 64].bits |= std::uint64_t{1} << (counts.cols[k] % 64);
    std::int64_t run = 0;
    for (global_int_t q = 0; q < n_blocks; ++q) {
      row[q].before = run;
      run += __builtin_popcountll(row[q].bits);
    }
  }
}

void CountLookup::Prefetch(word_id_t i, word_id_t j) const {
  if (i < c_.row_begin || i >= c_.row_end) return;
  const global_int_t r = i - c_.row_begin;
  if (block_offset_[r] >= 0) __builtin_prefetch(blocks_.data() + block_offset_[r] + j / 64);
}

global_int_t CountLookup::Find(word_id_t i, word_id_t j) const {
  if (i < c_.row_begin || i >= c_.row_end) return -1;
  const global_int_t r = i - c_.row_begin;
  const global_int_t first = c_.row_ptr[r];
  if (block_offset_[r] >= 0) {
    const Block& b = blocks_[block_offset_[r] + j / 64];
    const std::uint64_t bit = std::uint64_t{1} << (j % 64);
    if (!(b.bits & bit)) return -1;
    return first + b.before + __builtin_popcountll(b.bits & (bit - 1));
  }
  const auto* lo = c_.cols.data() + first;
  const auto* hi = c_.cols.data() + c_.row_ptr[r + 1];
  const auto* it = std::lower_bound(lo, hi, j);
  return it != hi && *it == j ? it - c_.cols.data() : -1;
}

SampleWeights::SampleWeights(PairWeights kind, const std::vector<double>& unigram, double pair_norm, double c,
                             double subsample, double nu, int K, double smoothing, NegativePairing pairing)
    : kind_(kind),
      unigram_(unigram),
      pair_norm_(pair_norm),
      nu_(nu),
      c_(c),
      K_(std::max(K, 1)),
      negative_c_(nu / K_ * c),
      smoothing_(kind == PairWeights::kQwem ? smoothing : 0),
      both_drawn_(pairing == NegativePairing::kIid) {
  const std::size_t V = unigram.size();
  if (smoothing_ > 0) {
    p_over_q_.resize(V);
    for (std::size_t i = 0; i < V; ++i) p_over_q_[i] = unigram[i] / Smoothed(i);
  }
  if (kind == PairWeights::kSampled && subsample > 0) {
    keep_.resize(V);
    for (std::size_t i = 0; i < V; ++i) keep_[i] = KeepProbability(unigram[i], subsample);
  }
  if (kind == PairWeights::kWord2vec) {
    // The reference code's: each divided by its mean over the vocabulary.
    accept_.resize(V);
    ratio_.resize(V);
    for (std::size_t i = 0; i < V; ++i) {
      accept_[i] = KeepProbability(unigram[i], subsample);
      ratio_[i] = std::pow(unigram[i], kNegativePower) / unigram[i];
    }
    for (std::vector<double>* v : {&accept_, &ratio_}) {
      const double mean = std::accumulate(v->begin(), v->end(), 0.0) / static_cast<double>(V);
      for (double& x : *v) x /= mean;
    }
  }
}

std::vector<double> SampleWeights::NegativeDistribution() const {
  std::vector<double> u(unigram_);
  if (smoothing_ > 0)
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = Smoothed(i);
  if (kind_ == PairWeights::kSampled)
    for (double& x : u) x = std::pow(x, kNegativePower);
  return u;
}

}  // namespace qwem
