#include "qwem/cooccurrence.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "qwem/vocab.hpp"

namespace qwem {
namespace {

// One accumulated count: key encodes (row, col) as row * n_cols + col.
struct Entry {
  std::uint64_t key;
  global_int_t count;
};

// LSD radix sort by key (11-bit digits, only as many passes as max_key needs), then equal keys
// are summed. Small inputs use std::sort.
void SortAndCombine(std::vector<Entry>& v, std::uint64_t max_key, std::vector<Entry>& scratch) {
  if (v.size() < 4096) {
    std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  } else {
    constexpr int kBits = 11;
    constexpr std::size_t kBuckets = std::size_t{1} << kBits;
    int key_bits = 1;
    while (key_bits < 64 && (max_key >> key_bits) != 0) ++key_bits;
    const int passes = (key_bits + kBits - 1) / kBits;
    scratch.resize(v.size());
    std::vector<std::size_t> offsets(kBuckets);
    for (int pass = 0; pass < passes; ++pass) {
      const int shift = pass * kBits;
      std::fill(offsets.begin(), offsets.end(), 0);
      for (const Entry& e : v) ++offsets[(e.key >> shift) & (kBuckets - 1)];
      std::size_t sum = 0;
      for (auto& o : offsets) {
        const std::size_t c = o;
        o = sum;
        sum += c;
      }
      for (const Entry& e : v) scratch[offsets[(e.key >> shift) & (kBuckets - 1)]++] = e;
      v.swap(scratch);
    }
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (out > 0 && v[out - 1].key == v[i].key) v[out - 1].count += v[i].count;
    else v[out++] = v[i];
  }
  v.resize(out);
}

// Tokens that follow this rank's last document in the next ranks' shards: the first L
// in-vocabulary tokens of the next ranks, up to the first boundary. Each rank publishes its
// head (up to L tokens before its first boundary, and whether a boundary ended it); one
// MPI_Allgather, then every rank walks forward through the heads.
std::vector<word_id_t> GatherContinuation(MPI_Comm comm, const std::vector<word_id_t>& stream, int window) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const int width = window + 2;
  std::vector<word_id_t> head(width, 0);  // [n, closed, tokens...]
  for (const word_id_t x : stream) {
    if (x == kBoundary) {
      head[1] = 1;
      break;
    }
    head[2 + head[0]++] = x;
    if (head[0] == window) break;
  }
  std::vector<word_id_t> all(static_cast<std::size_t>(width) * size);
  QWEM_MPI(MPI_Allgather(head.data(), width, MPI_INT32_T, all.data(), width, MPI_INT32_T, comm));
  std::vector<word_id_t> cont;
  for (int s = rank + 1; s < size && static_cast<int>(cont.size()) < window; ++s) {
    const word_id_t* h = all.data() + static_cast<std::size_t>(width) * s;
    for (int k = 0; k < h[0] && static_cast<int>(cont.size()) < window; ++k) cont.push_back(h[2 + k]);
    if (h[1]) break;
  }
  return cont;
}

// Contiguous row ranges with about equal nonzeros (+1 per row) per rank.
std::vector<global_int_t> BalanceRows(const std::vector<global_int_t>& row_nnz, int size) {
  const auto n = static_cast<global_int_t>(row_nnz.size());
  __int128 total = 0;
  for (auto c : row_nnz) total += c + 1;
  std::vector<global_int_t> ranges(size + 1, n);
  ranges[0] = 0;
  __int128 prefix = 0;
  global_int_t i = 0;
  for (int r = 1; r < size; ++r) {
    const __int128 target = total * r / size;
    while (i < n && prefix < target) prefix += row_nnz[i++] + 1;
    ranges[r] = i;
  }
  return ranges;
}

// Local accumulation with bounded memory (see the header): a dense uint32 triangle over the H
// most frequent words and a fixed-capacity buffer for the rest, flushed in lock step.
class Accumulator {
 public:
  Accumulator(MPI_Comm comm, global_int_t n_words, const CooccurrenceOptions& options)
      : comm_(comm), size_(CommSize(comm)), n_words_(n_words), window_(options.window) {
    // Three quarters of the budget for the triangle, the rest for the sparse buffer.
    const double hot_cells = static_cast<double>(options.buffer_bytes) * 0.75 / sizeof(std::uint32_t);
    hot_words_ = std::min<global_int_t>(n_words, static_cast<global_int_t>((std::sqrt(8 * hot_cells + 1) - 1) / 2));
    hot_.assign(static_cast<std::size_t>(hot_words_) * (hot_words_ + 1) / 2, 0);
    cold_capacity_ = std::max<std::size_t>(options.buffer_bytes / 4 / sizeof(Entry), 64 * static_cast<std::size_t>(window_));
    cold_.reserve(cold_capacity_);
    // Any cell grows by at most L(L+1)/2 per counted position: flush the triangle before a
    // uint32 could overflow.
    hot_position_limit_ = static_cast<global_int_t>(UINT32_MAX / (static_cast<std::uint64_t>(window_) * (window_ + 1) / 2));
    if (options.hot_flush_positions > 0) hot_position_limit_ = std::min(hot_position_limit_, options.hot_flush_positions);
  }

  // Counts pairs for first positions [t, end), stopping early when the buffer is nearly full
  // or `max_positions` were counted. Partners run to the next boundary (or the end of ids).
  // Returns the next position.
  std::size_t Count(const std::vector<word_id_t>& ids, std::size_t t, std::size_t end, std::size_t max_positions) {
    const std::size_t total = ids.size();
    const std::size_t stop = std::min(end, t + max_positions);
    const word_id_t* x = ids.data();
    const auto L = static_cast<std::size_t>(window_);
    const auto H = static_cast<word_id_t>(hot_words_);
    std::uint32_t* hot = hot_.data();
    while (t < stop) {
      if (x[t] == kBoundary) {
        ++t;
        continue;
      }
      if (t >= seg_end_) {
        seg_end_ = t;
        while (seg_end_ < total && x[seg_end_] != kBoundary) ++seg_end_;
      }
      if (cold_.size() + L > cold_capacity_) break;
      const word_id_t a = x[t];
      const std::size_t jmax = std::min(L, seg_end_ - 1 - t);
      for (std::size_t j = 1; j <= jmax; ++j) {
        const word_id_t b = x[t + j];
        const auto w = static_cast<std::uint32_t>(L + 1 - j);
        const word_id_t lo = std::min(a, b), hi = std::max(a, b);
        if (hi < H) {
          hot[static_cast<std::uint64_t>(hi) * (hi + 1) / 2 + lo] += w;
        } else {
          cold_.push_back({static_cast<std::uint64_t>(lo) * n_words_ + hi, w});
        }
      }
      n_pairs_ += static_cast<global_int_t>(jmax);
      ++n_positions_;
      ++positions_since_hot_flush_;
      ++t;
    }
    return t;
  }

  bool ColdNearlyFull() const { return cold_.size() + 2 * static_cast<std::size_t>(window_) > cold_capacity_; }
  // True when counting up to `next_positions` more positions could pass the flush limit.
  bool HotMayOverflow(std::size_t next_positions) const {
    return positions_since_hot_flush_ + static_cast<global_int_t>(next_positions) > hot_position_limit_;
  }
  global_int_t hot_position_limit() const { return hot_position_limit_; }

  // Collective. Combines the sparse buffer and sends it to the stage-1 owners (row lo, cyclic).
  void FlushCold() {
    SortAndCombine(cold_, static_cast<std::uint64_t>(n_words_) * n_words_, scratch_);
    Send(cold_);
    cold_.clear();
    ++n_cold_flushes_;
  }

  // Collective. Sends the triangle's nonzeros to the stage-1 owners in blocks of rows that fit
  // the sparse buffer (same blocks on every rank, so the exchanges match), then zeroes it.
  void FlushHot() {
    std::uint64_t hi = 0;
    const auto H = static_cast<std::uint64_t>(hot_words_);
    while (hi < H) {
      std::uint64_t hi_end = hi;
      while (hi_end < H && (hi_end + 1) * (hi_end + 2) / 2 - hi * (hi + 1) / 2 <= cold_capacity_) ++hi_end;
      hi_end = std::max(hi_end, hi + 1);
      cold_.clear();
      for (std::uint64_t h = hi; h < hi_end; ++h) {
        const std::uint32_t* row = hot_.data() + h * (h + 1) / 2;
        for (std::uint64_t lo = 0; lo <= h; ++lo)
          if (row[lo] != 0) cold_.push_back({lo * static_cast<std::uint64_t>(n_words_) + h, row[lo]});
      }
      Send(cold_);
      hi = hi_end;
    }
    cold_.clear();
    std::fill(hot_.begin(), hot_.end(), 0u);
    positions_since_hot_flush_ = 0;
    ++n_hot_flushes_;
  }

  // Collective. After the last flush: moves every count to its final row owner, both
  // triangles, and builds the CSR.
  CooccurrenceRows Finish() {
    const int rank = CommRank(comm_);
    const auto V = static_cast<std::uint64_t>(n_words_);
    hot_.clear();
    hot_.shrink_to_fit();
    cold_.clear();
    cold_.shrink_to_fit();
    SortAndCombine(owned_, V * V, scratch_);
    scratch_.clear();
    scratch_.shrink_to_fit();

    CooccurrenceRows rows;
    rows.n_words = n_words_;
    std::vector<global_int_t> row_nnz(V, 0);
    for (const Entry& e : owned_) {
      const std::uint64_t lo = e.key / V, hi = e.key % V;
      ++row_nnz[lo];
      if (lo != hi) ++row_nnz[hi];
    }
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, row_nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm_));
    for (auto c : row_nnz) rows.nnz += c;
    rows.row_ranges = BalanceRows(row_nnz, size_);
    rows.row_begin = rows.row_ranges[rank];
    rows.row_end = rows.row_ranges[rank + 1];
    row_nnz = {};

    // Both triangles to the final owners, in rounds of bounded size (same count on all ranks).
    const std::size_t batch = std::max<std::size_t>(cold_capacity_ / 2, 1);
    const auto rounds = static_cast<std::size_t>(AllreduceMax(comm_, static_cast<double>((owned_.size() + batch - 1) / batch)));
    const auto& ranges = rows.row_ranges;
    auto owner_of_row = [&](std::uint64_t row) {
      return static_cast<int>(std::upper_bound(ranges.begin(), ranges.end(), static_cast<global_int_t>(row)) - ranges.begin()) - 1;
    };
    std::vector<Entry> mine, sym;
    for (std::size_t round = 0; round < rounds; ++round) {
      const std::size_t lo_i = std::min(owned_.size(), round * batch), hi_i = std::min(owned_.size(), lo_i + batch);
      sym.clear();
      for (std::size_t i = lo_i; i < hi_i; ++i) {
        const std::uint64_t lo = owned_[i].key / V, hi = owned_[i].key % V;
        if (lo == hi) {
          sym.push_back({lo * V + hi, 2 * owned_[i].count});  // C = X + X^T doubles the diagonal
        } else {
          sym.push_back({lo * V + hi, owned_[i].count});
          sym.push_back({hi * V + lo, owned_[i].count});
        }
      }
      std::vector<std::size_t> displs;
      const std::vector<char> got = ExchangeByOwner(
          comm_, sym.data(), sym.size(), [&](const Entry& e) { return owner_of_row(e.key / V); }, displs);
      const std::size_t at = mine.size();
      mine.resize(at + got.size() / sizeof(Entry));
      if (!got.empty()) std::memcpy(mine.data() + at, got.data(), got.size());
    }
    owned_ = {};
    sym = {};

    // Re-key relative to row_begin so the sort needs fewer passes, then build the CSR.
    for (Entry& e : mine) e.key -= static_cast<std::uint64_t>(rows.row_begin) * V;
    SortAndCombine(mine, static_cast<std::uint64_t>(rows.n_local_rows()) * V, scratch_);
    scratch_ = {};
    rows.row_ptr.assign(rows.n_local_rows() + 1, 0);
    rows.cols.resize(mine.size());
    rows.values.resize(mine.size());
    for (std::size_t i = 0; i < mine.size(); ++i) {
      ++rows.row_ptr[mine[i].key / V + 1];
      rows.cols[i] = static_cast<word_id_t>(mine[i].key % V);
      rows.values[i] = mine[i].count;
    }
    for (global_int_t r = 0; r < rows.n_local_rows(); ++r) rows.row_ptr[r + 1] += rows.row_ptr[r];
    rows.n_pairs = 2 * AllreduceSum(comm_, n_pairs_);
    return rows;
  }

  global_int_t hot_words() const { return hot_words_; }
  global_int_t n_positions() const { return n_positions_; }
  int n_cold_flushes() const { return n_cold_flushes_; }
  int n_hot_flushes() const { return n_hot_flushes_; }

 private:
  // Collective. Sends entries keyed lo * V + hi to rank lo % P and appends what arrives here.
  void Send(const std::vector<Entry>& entries) {
    const auto V = static_cast<std::uint64_t>(n_words_);
    std::vector<std::size_t> displs;
    const std::vector<char> got = ExchangeByOwner(
        comm_, entries.data(), entries.size(), [&](const Entry& e) { return static_cast<int>((e.key / V) % size_); },
        displs);
    const std::size_t at = owned_.size();
    owned_.resize(at + got.size() / sizeof(Entry));
    if (!got.empty()) std::memcpy(owned_.data() + at, got.data(), got.size());
    // Keep the owner's store near its combined size: compact when it has doubled.
    if (owned_.size() > 2 * owned_compacted_ + (std::size_t{1} << 20)) {
      SortAndCombine(owned_, V * V, scratch_);
      owned_compacted_ = owned_.size();
    }
  }

  MPI_Comm comm_;
  int size_;
  global_int_t n_words_;
  int window_;
  global_int_t hot_words_ = 0;
  std::vector<std::uint32_t> hot_;
  std::vector<Entry> cold_, owned_, scratch_;
  std::size_t cold_capacity_ = 0;
  std::size_t owned_compacted_ = 0;
  std::size_t seg_end_ = 0;
  global_int_t hot_position_limit_ = 0;
  global_int_t positions_since_hot_flush_ = 0;
  global_int_t n_pairs_ = 0;
  global_int_t n_positions_ = 0;
  int n_cold_flushes_ = 0;
  int n_hot_flushes_ = 0;
};

}  // namespace

CooccurrenceRows CountCooccurrences(MPI_Comm comm, std::vector<word_id_t>& stream, std::vector<word_id_t>& whole,
                                    global_int_t n_words, const CooccurrenceOptions& options, CountStats* stats) {
  if (options.window <= 0) throw Error("--window must be positive");
  const double t0 = MPI_Wtime();
  // One array: [byte range][continuation][boundary][whole files]. First positions are the byte
  // range and the whole files; the continuation only serves as partners of the range's tail.
  const std::vector<word_id_t> cont = GatherContinuation(comm, stream, options.window);
  const std::size_t n_range = stream.size();
  stream.insert(stream.end(), cont.begin(), cont.end());
  stream.push_back(kBoundary);
  const std::size_t whole_begin = stream.size();
  stream.insert(stream.end(), whole.begin(), whole.end());
  whole = {};
  const std::size_t spans[2][2] = {{0, n_range}, {whole_begin, stream.size()}};

  // Lock step: every rank counts a chunk, then one MPI_Allreduce decides whether all ranks
  // flush (some buffer is full, or the triangle may overflow) and whether all are done.
  Accumulator acc(comm, n_words, options);
  const std::size_t chunk = static_cast<std::size_t>(std::min<global_int_t>(acc.hot_position_limit(), 1 << 20));
  std::size_t span = 0, t = 0;
  for (;;) {
    std::size_t budget = chunk;
    while (span < 2 && budget > 0) {
      const std::size_t before = t;
      t = acc.Count(stream, std::max(t, spans[span][0]), spans[span][1], budget);
      budget -= std::min(budget, t - std::max(before, spans[span][0]));
      if (t < spans[span][1]) break;  // buffer full or budget used
      ++span;
    }
    int flags[3] = {acc.ColdNearlyFull() ? 1 : 0, acc.HotMayOverflow(chunk) ? 1 : 0, span < 2 ? 1 : 0};
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 3, MPI_INT, MPI_MAX, comm));
    const bool all_done = flags[2] == 0;
    if (flags[0] || all_done) acc.FlushCold();
    if (flags[1] || all_done) acc.FlushHot();
    if (all_done) break;
  }
  stream = {};
  const double t1 = MPI_Wtime();
  CooccurrenceRows rows = acc.Finish();
  if (stats) {
    stats->n_local_positions = acc.n_positions();
    stats->hot_words = acc.hot_words();
    stats->n_cold_flushes = acc.n_cold_flushes();
    stats->n_hot_flushes = acc.n_hot_flushes();
    stats->count_seconds = t1 - t0;
    stats->redistribute_seconds = MPI_Wtime() - t1;
  }
  return rows;
}

PetscErrorCode AssembleCountMatrix(MPI_Comm comm, const CooccurrenceRows& rows, Mat* C) {
  PetscFunctionBeginUser;
  PetscCheck(rows.n_words <= PETSC_MAX_INT, comm, PETSC_ERR_SUP, "V = %lld exceeds PetscInt",
             static_cast<long long>(rows.n_words));
  const auto m = static_cast<PetscInt>(rows.n_local_rows());
  const auto V = static_cast<PetscInt>(rows.n_words);
  std::vector<PetscInt> d_nnz(m, 0), o_nnz(m, 0);
  for (PetscInt r = 0; r < m; ++r)
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k) {
      const global_int_t c = rows.cols[k];
      if (c >= rows.row_begin && c < rows.row_end) ++d_nnz[r];
      else ++o_nnz[r];
    }
  PetscCall(MatCreate(comm, C));
  PetscCall(MatSetSizes(*C, m, m, V, V));
  PetscCall(MatSetType(*C, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(*C, 0, d_nnz.data()));
  PetscCall(MatMPIAIJSetPreallocation(*C, 0, d_nnz.data(), 0, o_nnz.data()));
  PetscCall(MatSetOption(*C, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  std::vector<PetscInt> cols;
  std::vector<PetscScalar> vals;
  for (PetscInt r = 0; r < m; ++r) {
    const global_int_t b = rows.row_ptr[r], e = rows.row_ptr[r + 1];
    cols.assign(rows.cols.begin() + b, rows.cols.begin() + e);
    vals.assign(rows.values.begin() + b, rows.values.begin() + e);
    const PetscInt grow = static_cast<PetscInt>(rows.row_begin) + r;
    PetscCall(MatSetValues(*C, 1, &grow, static_cast<PetscInt>(cols.size()), cols.data(), vals.data(), INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*C, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*C, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

}  // namespace qwem
