#include "qwem/pair_counter.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qwem {

void RecordCarry(std::vector<std::uint64_t>& carries, std::uint64_t cell) { carries.push_back(cell); }

void SortAndCombine(big_vector<SparseEntry>& v, std::uint64_t max_key, big_vector<SparseEntry>& scratch) {
  if (v.size() < 4096) {
    std::sort(v.begin(), v.end(), [](const SparseEntry& a, const SparseEntry& b) { return a.key < b.key; });
  } else {
    // As few passes as digits of at most 12 bits allow, the key's bits spread evenly over them
    // (34 bits at V = 100k: 3 passes of 12 instead of 4 of 11), and every pass's histogram from
    // one read of the input.
    int key_bits = 1;
    while (key_bits < 64 && (max_key >> key_bits) != 0) ++key_bits;
    const int passes = (key_bits + 11) / 12;
    const int bits = (key_bits + passes - 1) / passes;
    const std::size_t buckets = std::size_t{1} << bits;
    const std::uint64_t digit = buckets - 1;
    std::vector<std::size_t> offsets(buckets * static_cast<std::size_t>(passes), 0);
    for (const SparseEntry& e : v)
      for (int pass = 0; pass < passes; ++pass) ++offsets[pass * buckets + ((e.key >> (pass * bits)) & digit)];
    scratch.resize(v.size());
    for (int pass = 0; pass < passes; ++pass) {
      std::size_t* o = offsets.data() + pass * buckets;
      std::size_t sum = 0;
      for (std::size_t b = 0; b < buckets; ++b) {
        const std::size_t c = o[b];
        o[b] = sum;
        sum += c;
      }
      const int shift = pass * bits;
      for (const SparseEntry& e : v) scratch[o[(e.key >> shift) & digit]++] = e;
      v.swap(scratch);
    }
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (out > 0 && v[out - 1].key == v[i].key)
      v[out - 1].count += v[i].count;
    else
      v[out++] = v[i];
  }
  v.resize(out);
}

PairCounter::PairCounter(global_int_t n_words, int window, std::size_t buffer_bytes)
    : n_words_(n_words), window_(window), dense_words_(DenseWords(n_words, buffer_bytes)) {
  triangle_.resize(TriangleCells(dense_words_));
  std::memset(triangle_.data(), 0, triangle_.size() * sizeof(Cell16));
  sparse_capacity_ =
      std::max<std::size_t>(buffer_bytes / 4 / sizeof(SparseEntry), 64 * static_cast<std::size_t>(window_));
  sparse_.reserve(sparse_capacity_);
}

global_int_t PairCounter::DenseWords(global_int_t n_words, std::size_t buffer_bytes) {
  const double cells = static_cast<double>(buffer_bytes) * 0.75 / sizeof(Cell16);
  const auto h = static_cast<global_int_t>((std::sqrt(8 * cells + 1) - 1) / 2);
  return std::min<global_int_t>(n_words, h);
}

void PairCounter::Release() {
  triangle_ = {};
  sparse_ = {};
}

inline std::size_t PairCounter::NextToken(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop) {
  while (t < stop && x[t] == kBoundary) ++t;
  if (t < stop && t >= seg_end_) {
    seg_end_ = t;
    while (seg_end_ < total && x[seg_end_] != kBoundary) ++seg_end_;
  }
  return t;
}

std::size_t PairCounter::Count(const big_vector<word_id_t>& ids, std::size_t t, std::size_t end,
                               std::size_t max_positions) {
  const std::size_t stop = std::min(end, t + max_positions);
  return dense_words_ == n_words_ ? CountDense(ids.data(), ids.size(), t, stop)
                                  : CountMixed(ids.data(), ids.size(), t, stop);
}

// The common case H = V: every pair lands in the triangle. Each position's cells are
// independent random accesses: the loop computes the next position's cells and prefetches them
// while it updates this position's, so the memory system works on several at once.
std::size_t PairCounter::CountDense(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop) {
  const auto L = static_cast<std::size_t>(window_);
  Cell16* cells = triangle_.data();
  cells_.resize(2 * L);
  std::uint64_t* cur = cells_.data();
  std::uint64_t* next = cur + L;
  // The cells of position p's pairs (partners up to the segment end) into out, prefetched.
  auto cells_of = [&](std::size_t p, std::uint64_t* out) {
    const auto a = static_cast<std::uint64_t>(x[p]);
    const std::size_t jmax = std::min(L, seg_end_ - 1 - p);
    for (std::size_t j = 1; j <= jmax; ++j) {
      const auto b = static_cast<std::uint64_t>(x[p + j]);
      const std::uint64_t lo = std::min(a, b), hi = std::max(a, b);
      out[j - 1] = TriangleCells(hi) + lo;
      __builtin_prefetch(cells + out[j - 1], 1, 1);
    }
    return jmax;
  };
  while ((t = NextToken(x, total, t, stop)) < stop) {
    // Positions up to the segment end (or stop) share the same partner limit.
    const std::size_t seg_stop = std::min(stop, seg_end_);
    n_positions_ += static_cast<global_int_t>(seg_stop - t);
    std::size_t n_next = cells_of(t, next);
    for (; t < seg_stop; ++t) {
      std::swap(cur, next);
      const std::size_t n = n_next;
      if (t + 1 < seg_stop) n_next = cells_of(t + 1, next);
      for (std::size_t j = 1; j <= n; ++j)
        AddToCell(cells, cur[j - 1], static_cast<std::uint32_t>(L + 1 - j), carries_);
      n_pairs_ += static_cast<global_int_t>(n);
    }
  }
  return t;
}

// H < V: pairs of two dense words go to the triangle, the others to the sparse buffer.
std::size_t PairCounter::CountMixed(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop) {
  const auto L = static_cast<std::size_t>(window_);
  const auto H = static_cast<word_id_t>(dense_words_);
  Cell16* cells = triangle_.data();
  while ((t = NextToken(x, total, t, stop)) < stop) {
    if (sparse_.size() + L > sparse_capacity_) break;
    const word_id_t a = x[t];
    const std::size_t jmax = std::min(L, seg_end_ - 1 - t);
    for (std::size_t j = 1; j <= jmax; ++j) {
      const word_id_t b = x[t + j];
      const auto w = static_cast<std::uint32_t>(L + 1 - j);
      const word_id_t lo = std::min(a, b), hi = std::max(a, b);
      if (hi < H)
        AddToCell(cells, TriangleCells(static_cast<std::uint64_t>(hi)) + lo, w, carries_);
      else
        sparse_.push_back({static_cast<std::uint64_t>(lo) * n_words_ + hi, static_cast<global_int_t>(w)});
    }
    n_pairs_ += static_cast<global_int_t>(jmax);
    ++n_positions_;
    ++t;
  }
  return t;
}

}  // namespace qwem
