// The local counting kernel of the windowed co-occurrences (SCIENCE.md section 1). Not
// collective, no MPI: one rank's pairs, accumulated in canonical upper-triangle form
// X[lo][hi] += L+1-j (C = X + X^T is formed by the reduction, cooccurrence.hpp).
//
// Memory is bounded by the count buffer budget:
//  * a dense triangle over the H most frequent words (H = V when it fits: V = 10k takes 100 MB),
//    X[lo][hi] at cell hi (hi + 1) / 2 + lo, so pairs of frequent words share the first,
//    cache-resident cells. Cells hold the low 16 bits of a count: each time an addition wraps,
//    the cell's index is appended to a carry list, and the count is the cell plus 65536 per
//    listed carry. Half the bytes of uint32 cells, so twice the triangle stays in cache; the
//    list is short (at most the total weight / 65536: 37k entries for the whole Gutenberg
//    corpus), and no cell can ever overflow;
//  * pairs with a rarer word go to a fixed-capacity sparse buffer of (key, count) entries, which
//    the caller empties (sorted and combined) when SparseNearlyFull().
#pragma once

#include <cstdint>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/memory.hpp"

namespace qwem {

// A cell of the dense triangle: the low 16 bits of a count.
using Cell16 = std::uint16_t;

// Cells of triangle rows [0, h): h (h + 1) / 2.
inline std::uint64_t TriangleCells(std::uint64_t h) { return h * (h + 1) / 2; }

// Adds w (< 65536) to a cell; a wrap appends the cell's index to `carries` (+65536 each).
[[gnu::noinline, gnu::cold]] void RecordCarry(std::vector<std::uint64_t>& carries, std::uint64_t cell);
inline void AddToCell(Cell16* cells, std::uint64_t cell, std::uint32_t w, std::vector<std::uint64_t>& carries) {
  const std::uint32_t s = cells[cell] + w;
  cells[cell] = static_cast<Cell16>(s);
  if (__builtin_expect(s >> 16, 0)) RecordCarry(carries, cell);
}

// One accumulated sparse count: key encodes (lo, hi) as lo * V + hi.
struct SparseEntry {
  std::uint64_t key;
  global_int_t count;
};

// Sorts entries by key (LSD radix sort with digits of at most 12 bits, as many passes as max_key needs;
// std::sort for small inputs) and sums equal keys.
void SortAndCombine(big_vector<SparseEntry>& v, std::uint64_t max_key, big_vector<SparseEntry>& scratch);

class PairCounter {
 public:
  PairCounter(global_int_t n_words, int window, std::size_t buffer_bytes);

  // H: the largest triangle that fits three quarters of the budget (the rest is the sparse
  // buffer), at most V.
  static global_int_t DenseWords(global_int_t n_words, std::size_t buffer_bytes);

  // Counts the pairs of first positions [t, end) of ids (partners up to the next kBoundary or
  // the end of ids), stopping early when the sparse buffer is nearly full or `max_positions`
  // were counted. Returns the next position.
  std::size_t Count(const big_vector<word_id_t>& ids, std::size_t t, std::size_t end, std::size_t max_positions);

  // The sparse buffer: the caller sorts, combines and empties it when it is nearly full.
  bool SparseNearlyFull() const { return sparse_.size() + 2 * static_cast<std::size_t>(window_) > sparse_capacity_; }
  big_vector<SparseEntry>& sparse() { return sparse_; }
  std::size_t sparse_capacity() const { return sparse_capacity_; }

  // The dense triangle and the cells whose 16 bits wrapped while counting.
  Cell16* triangle() { return triangle_.data(); }
  std::vector<std::uint64_t>& carries() { return carries_; }
  // Frees the triangle and the sparse buffer.
  void Release();

  global_int_t n_words() const { return n_words_; }
  int window() const { return window_; }
  global_int_t dense_words() const { return dense_words_; }
  global_int_t n_pairs() const { return n_pairs_; }          // pairs (t, t + j) counted
  global_int_t n_positions() const { return n_positions_; }  // first positions counted

 private:
  // The kernels: first positions [t, stop) of x (total ids in all).
  std::size_t CountDense(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop);
  std::size_t CountMixed(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop);
  // Skips boundaries from t (not past stop); at a token in a new segment, moves seg_end_ to the
  // segment's end (the next boundary, or total: partners stop before it). Returns the position.
  std::size_t NextToken(const word_id_t* x, std::size_t total, std::size_t t, std::size_t stop);

  global_int_t n_words_;
  int window_;
  global_int_t dense_words_;
  big_vector<Cell16> triangle_;
  std::vector<std::uint64_t> carries_;
  std::vector<std::uint64_t> cells_;  // CountDense's cells of two positions
  big_vector<SparseEntry> sparse_;
  std::size_t sparse_capacity_ = 0;
  std::size_t seg_end_ = 0;
  global_int_t n_pairs_ = 0;
  global_int_t n_positions_ = 0;
};

}  // namespace qwem
