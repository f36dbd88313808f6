// Exact windowed co-occurrence counts (SCIENCE.md section 1), distributed: the two collective
// phases around the local kernel (pair_counter.hpp).
//
// count (CountPairs): each rank counts the pairs (t, t+j), j = 1..L, whose first position t is
//   one of its own tokens; partners may lie in the next ranks' shards (their first L tokens, the
//   "continuation", exchanged up front), so a window spanning shards is counted exactly once.
//   Pairs with a rarer word fill the kernel's sparse buffer, which all ranks flush together (in
//   lock step) to stage-1 owners (row lo, cyclic) whenever one rank's buffer fills.
// reduce (ReduceCounts): the dense triangles are summed by a pairwise reduce-scatter of bands
//   (carries included), rows are balanced over the ranks by nonzeros (contiguous ranges:
//   frequent words have dense rows), and every count moves to its row owner, which builds its
//   CSR rows of C = X + X^T. This is the layout of every distributed matrix and embedding after.
#pragma once

#include <mpi.h>

#include <vector>

#include "qwem/common.hpp"
#include "qwem/memory.hpp"
#include "qwem/options.hpp"
#include "qwem/pair_counter.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// The rows of C this rank owns, as CSR with exact int64 counts (columns sorted).
struct CooccurrenceRows {
  global_int_t n_words = 0;              // V
  int window = 0;                        // L the pairs were counted with
  std::vector<global_int_t> row_ranges;  // size P+1: rank r owns rows [row_ranges[r], row_ranges[r+1])
  global_int_t row_begin = 0, row_end = 0;
  std::vector<global_int_t> row_ptr;  // size row_end - row_begin + 1, offsets into cols/values
  big_vector<word_id_t> cols;
  big_vector<global_int_t> values;
  global_int_t n_pairs = 0;  // N: unweighted pair total, both directions, global
  global_int_t nnz = 0;      // global nonzeros of C

  global_int_t n_local_rows() const { return row_end - row_begin; }
  global_int_t n_local_nnz() const { return static_cast<global_int_t>(values.size()); }
};

// What the count phase leaves for the reduce phase on one rank (move-only).
struct PartialCounts {
  PairCounter counter;            // the dense triangle and its carries
  big_vector<SparseEntry> owned;  // sparse counts of the rows lo with lo mod P = rank, combined
};

struct CountStats {
  global_int_t n_local_positions = 0;  // in-vocabulary tokens counted as first position here
  global_int_t dense_words = 0;        // H: words in the dense triangle
  int n_sparse_flushes = 0;
  int n_owner_compactions = 0;  // times this rank compacted its owned sparse counts
  double kernel_seconds = 0;  // the local pair loop alone (this rank)
};

struct ReduceStats {
  global_int_t n_band_carries = 0;  // counts past 16 bits in this rank's band of the triangle
  double seconds = 0;               // this rank's time in ReduceCounts
  // This rank's time in each of its steps, in order: combining its sparse entries, the exact
  // row nonzeros, the band sums, fetching the blocks of higher ranks' bands in its columns,
  // placing its own band and those blocks, and the sparse entries' exchange with the rows'
  // sorting.
  enum Step { kCombine, kNonzeros, kBandSums, kBlocks, kPlace, kSparse, kNumSteps };
  static constexpr const char* kStepNames[kNumSteps] = {"combine", "nonzeros", "band_sums",
                                                        "blocks",  "place",    "sparse"};
  double step_seconds[kNumSteps] = {};
};

// Collective. Phase 1: every pair whose first position is one of this rank's tokens, counted by
// the local kernel with the sparse buffer flushed in lock step. The ids are consumed. Progress
// lines (positions/s, time left) if `progress` asks for them.
PartialCounts CountPairs(MPI_Comm comm, TokenIds&& ids, global_int_t n_words, const CountOptions& options,
                         CountStats* stats = nullptr, const ProgressLines& progress = {});

// Collective. Phase 2: the ranks' partial counts summed and moved to their row owners, as CSR.
CooccurrenceRows ReduceCounts(MPI_Comm comm, PartialCounts&& counts, ReduceStats* stats = nullptr);

// Not collective. Contiguous row ranges (size + 1 bounds) with about equal nonzeros (+1 per
// row) per rank, from every row's nonzero count: how ReduceCounts (and a reload of saved
// counts) lays out the rows.
std::vector<global_int_t> BalanceRows(const std::vector<global_int_t>& row_nnz, int size);

// Not collective (the pair total is global). Throws qwem::Error if the corpus has no
// co-occurring pairs (every document a single in-vocabulary token): there is nothing to factorize.
void RequireCooccurringPairs(const CooccurrenceRows& counts);

// Collective. Both phases.
CooccurrenceRows CountCooccurrences(MPI_Comm comm, TokenIds&& ids, global_int_t n_words, const CountOptions& options,
                                    CountStats* stats = nullptr);

}  // namespace qwem
