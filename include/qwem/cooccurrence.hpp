// Exact windowed co-occurrence counts (SCIENCE.md section 1), distributed.
//
// Each rank counts the pairs (t, t+j), j = 1..L, whose first position t is one of its own
// tokens; partners may lie in the next ranks' shards (the "continuation", exchanged up front),
// so a window spanning shards is counted exactly once. Counts are accumulated in canonical
// upper-triangle form X[lo][hi] += L+1-j and C = X + X^T at the end.
//
// Memory per rank is bounded by the count buffer (--count-buffer-mb): a dense triangle of 16-bit
// cells (wraps recorded in a short carry list) over the H most frequent words (H chosen from the
// budget, H = V when it fits: V = 10k needs 100 MB) takes the bulk of the pairs; pairs involving rarer words go to a fixed-capacity buffer
// that is sorted, combined and flushed to owner ranks whenever one rank's buffer fills (all
// ranks flush together, in lock step). Owners accumulate those rows, which costs memory
// proportional to the nonzeros they own. At the end the triangles are summed by a pairwise
// reduce-scatter of bands, and every count moves to its final owner: contiguous row ranges balanced
// by nonzeros (frequent words have dense rows), the layout of the PETSc matrix.
#pragma once

#include <mpi.h>
#include <petscmat.h>

#include <functional>
#include <memory>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

struct CooccurrenceOptions {
  int window = 16;                                  // L
  std::size_t buffer_bytes = std::size_t{512} << 20;  // local accumulation budget per rank
};

// The rows of C this rank owns, as CSR with exact int64 counts (columns sorted).
struct CooccurrenceRows {
  global_int_t n_words = 0;               // V
  std::vector<global_int_t> row_ranges;   // size P+1: rank r owns rows [row_ranges[r], row_ranges[r+1])
  global_int_t row_begin = 0, row_end = 0;
  std::vector<global_int_t> row_ptr;      // size row_end - row_begin + 1, offsets into cols/values
  big_vector<word_id_t> cols;
  big_vector<global_int_t> values;
  global_int_t n_pairs = 0;               // N: unweighted pair total, both directions, global
  global_int_t nnz = 0;                   // global nonzeros of C

  global_int_t n_local_rows() const { return row_end - row_begin; }
  global_int_t n_local_nnz() const { return static_cast<global_int_t>(values.size()); }
};

struct CountStats {
  global_int_t n_local_positions = 0;  // in-vocabulary tokens counted as first position here
  global_int_t hot_words = 0;          // H: words in the dense triangle
  int n_cold_flushes = 0;
  global_int_t n_band_carries = 0;     // counts past 16 bits in this rank's band of the triangle
  double count_seconds = 0;            // CountLocal: local counting plus the lock-step flushes
  double kernel_seconds = 0;           // local counting alone (the pair loop)
  double reduce_seconds = 0;           // ReduceCounts: sum the triangles, move to row owners, build CSR
};

// One rank's accumulated counts between the two phases below (move-only; consumed by
// ReduceCounts).
class LocalCounts {
 public:
  class Accumulator;  // defined in cooccurrence.cpp
  explicit LocalCounts(std::unique_ptr<Accumulator> acc);
  LocalCounts(LocalCounts&&) noexcept;
  LocalCounts& operator=(LocalCounts&&) noexcept;
  ~LocalCounts();

 private:
  friend CooccurrenceRows ReduceCounts(LocalCounts&& counts, CountStats* stats);
  std::unique_ptr<Accumulator> acc_;
};

// Collective. Phase 1, counting: every pair whose first position is one of this rank's
// tokens, accumulated locally (dense triangle, sparse buffer flushed in lock step). `stream`
// holds the in-vocabulary token ids of this rank's byte range with kBoundary between documents,
// `whole` those of its whole (gzip) files (see LocalShard and MapToVocabulary). Both are
// consumed (left empty).
LocalCounts CountLocal(MPI_Comm comm, big_vector<word_id_t>& stream, big_vector<word_id_t>& whole,
                       global_int_t n_words, const CooccurrenceOptions& options, CountStats* stats = nullptr);

// Collective. Phase 2, reduction: the ranks' partial counts summed and moved to their final row
// owners (contiguous row ranges balanced by nonzeros), as CSR.
CooccurrenceRows ReduceCounts(LocalCounts&& counts, CountStats* stats = nullptr);

// Both phases.
CooccurrenceRows CountCooccurrences(MPI_Comm comm, big_vector<word_id_t>& stream, big_vector<word_id_t>& whole,
                                    global_int_t n_words, const CooccurrenceOptions& options,
                                    CountStats* stats = nullptr);

// Collective. A MATAIJ matrix on the nonzero pattern of C, with the row layout of `rows` (also
// the column layout), preallocated exactly; entry (i, j) is value(i, j, C_ij).
PetscErrorCode AssembleOnPattern(MPI_Comm comm, const CooccurrenceRows& rows,
                                 const std::function<double(global_int_t, word_id_t, global_int_t)>& value, Mat* A);

// Collective. C itself as a MATAIJ matrix. Values are doubles: exact while counts stay below 2^53.
PetscErrorCode AssembleCountMatrix(MPI_Comm comm, const CooccurrenceRows& rows, Mat* C);

}  // namespace qwem
