#include "qwem/cooccurrence.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <memory>
#include <new>
#include <tuple>
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
void SortAndCombine(big_vector<Entry>& v, std::uint64_t max_key, big_vector<Entry>& scratch) {
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
std::vector<word_id_t> GatherContinuation(MPI_Comm comm, const big_vector<word_id_t>& stream, int window) {
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

// A cell of the dense triangle: the low 16 bits of a count (see Accumulator).
using Cell16 = std::uint16_t;

// A count on its way to the final row owner.
struct Cell {
  std::uint32_t row, col;
  global_int_t count;
};

// Cells of triangle rows [0, h): h (h + 1) / 2.
inline std::uint64_t TriangleCells(std::uint64_t h) { return h * (h + 1) / 2; }

}  // namespace

// Local accumulation with bounded memory (see the header).
//  * A dense triangle over the H most frequent words, X[lo][hi] at cell hi (hi + 1) / 2 + lo,
//    so pairs of frequent words share the first, cache-resident cells. Cells hold the low 16
//    bits of the count: each time an addition wraps, the cell's index is appended to a carry
//    list, and the count is the cell plus 65536 per listed carry. Half the bytes of uint32
//    cells, so twice the triangle stays in cache; the list is short (at most the total weight
//    / 65536: 37k entries for the whole Gutenberg corpus), and no cell can ever overflow.
//  * Pairs with a rarer word go to a fixed-capacity buffer, flushed in lock step to stage-1
//    owners (row lo, cyclic), which keep them sorted and combined.
class LocalCounts::Accumulator {
 public:
  Accumulator(MPI_Comm comm, global_int_t n_words, const CooccurrenceOptions& options)
      : comm_(comm), rank_(CommRank(comm)), size_(CommSize(comm)), n_words_(n_words), window_(options.window),
        hot_words_(HotWords(n_words, options.buffer_bytes)) {
    hot_.resize(TriangleCells(hot_words_));
    std::memset(hot_.data(), 0, hot_.size() * sizeof(Cell16));
    cold_capacity_ = std::max<std::size_t>(options.buffer_bytes / 4 / sizeof(Entry), 64 * static_cast<std::size_t>(window_));
    cold_.reserve(cold_capacity_);
    // Triangle rows [band_[r], band_[r+1]) are summed onto rank r; bands have equal cell counts.
    const auto H = static_cast<std::uint64_t>(hot_words_);
    band_.assign(size_ + 1, H);
    band_[0] = 0;
    for (int r = 1; r < size_; ++r) {
      const std::uint64_t target = TriangleCells(H) * r / size_;
      std::uint64_t h = band_[r - 1];
      while (h < H && TriangleCells(h) < target) ++h;
      band_[r] = h;
    }
  }

  // H: the largest triangle that fits three quarters of the budget (the rest is the sparse
  // buffer), at most V. (Bands travel in pieces, so MPI's int counts set no limit.)
  static global_int_t HotWords(global_int_t n_words, std::size_t budget) {
    const double cells = static_cast<double>(budget) * 0.75 / sizeof(Cell16);
    const auto h = static_cast<global_int_t>((std::sqrt(8 * cells + 1) - 1) / 2);
    return std::min<global_int_t>(n_words, h);
  }

  // Counts pairs for first positions [t, end), stopping early when the sparse buffer is nearly
  // full or `max_positions` were counted. Partners run to the next boundary (or the end of ids).
  // Returns the next position.
  std::size_t Count(const big_vector<word_id_t>& ids, std::size_t t, std::size_t end, std::size_t max_positions) {
    return hot_words_ == n_words_ ? CountDense(ids, t, end, max_positions) : CountMixed(ids, t, end, max_positions);
  }

  // The common case H = V: every pair lands in the triangle. Each position's cells are
  // independent random accesses: the loop computes the next position's cells and prefetches
  // them while it updates this position's, so the memory system works on several at once.
  std::size_t CountDense(const big_vector<word_id_t>& ids, std::size_t t, std::size_t end, std::size_t max_positions) {
    const std::size_t total = ids.size();
    const std::size_t stop = std::min(end, t + max_positions);
    const word_id_t* x = ids.data();
    const auto L = static_cast<std::size_t>(window_);
    Cell16* hot = hot_.data();
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
        __builtin_prefetch(hot + out[j - 1], 1, 1);
      }
      return jmax;
    };
    while (t < stop) {
      if (x[t] == kBoundary) {
        ++t;
        continue;
      }
      if (t >= seg_end_) FindSegmentEnd(x, total, t);
      // Positions up to the segment end (or stop) share the same partner limit.
      const std::size_t seg_stop = std::min(stop, seg_end_);
      n_positions_ += static_cast<global_int_t>(seg_stop - t);
      std::size_t n_next = cells_of(t, next);
      for (; t < seg_stop; ++t) {
        std::swap(cur, next);
        const std::size_t n = n_next;
        if (t + 1 < seg_stop) n_next = cells_of(t + 1, next);
        for (std::size_t j = 1; j <= n; ++j) AddToCell(hot, cur[j - 1], static_cast<std::uint32_t>(L + 1 - j));
        n_pairs_ += static_cast<global_int_t>(n);
      }
    }
    return t;
  }

  std::size_t CountMixed(const big_vector<word_id_t>& ids, std::size_t t, std::size_t end, std::size_t max_positions) {
    const std::size_t total = ids.size();
    const std::size_t stop = std::min(end, t + max_positions);
    const word_id_t* x = ids.data();
    const auto L = static_cast<std::size_t>(window_);
    const auto H = static_cast<word_id_t>(hot_words_);
    Cell16* hot = hot_.data();
    while (t < stop) {
      if (x[t] == kBoundary) {
        ++t;
        continue;
      }
      if (t >= seg_end_) FindSegmentEnd(x, total, t);
      if (cold_.size() + L > cold_capacity_) break;
      const word_id_t a = x[t];
      const std::size_t jmax = std::min(L, seg_end_ - 1 - t);
      for (std::size_t j = 1; j <= jmax; ++j) {
        const word_id_t b = x[t + j];
        const auto w = static_cast<std::uint32_t>(L + 1 - j);
        const word_id_t lo = std::min(a, b), hi = std::max(a, b);
        if (hi < H) {
          AddToCell(hot, TriangleCells(static_cast<std::uint64_t>(hi)) + lo, w);
        } else {
          cold_.push_back({static_cast<std::uint64_t>(lo) * n_words_ + hi, static_cast<global_int_t>(w)});
        }
      }
      n_pairs_ += static_cast<global_int_t>(jmax);
      ++n_positions_;
      ++t;
    }
    return t;
  }

  // seg_end_: the first boundary at or after t (or the end): partners of t stop before it.
  void FindSegmentEnd(const word_id_t* x, std::size_t total, std::size_t t) {
    seg_end_ = t;
    while (seg_end_ < total && x[seg_end_] != kBoundary) ++seg_end_;
  }

  bool ColdNearlyFull() const { return cold_.size() + 2 * static_cast<std::size_t>(window_) > cold_capacity_; }

  // cells[c] += w, recording a carry of 65536 in `carries` when the 16 bits wrap.
  static void AddToCell(Cell16* cells, std::uint64_t c, std::uint32_t w, std::vector<std::uint64_t>& carries) {
    const std::uint32_t s = cells[c] + w;
    cells[c] = static_cast<Cell16>(s);
    if (__builtin_expect(s >> 16, 0)) carries.push_back(c);
  }
  // The counting kernels' version: carries go to carries_, through an out-of-line call so the
  // rare wrap does not cost the loop its registers.
  void AddToCell(Cell16* cells, std::uint64_t c, std::uint32_t w) {
    const std::uint32_t s = cells[c] + w;
    cells[c] = static_cast<Cell16>(s);
    if (__builtin_expect(s >> 16, 0)) RecordCarry(c);
  }
  [[gnu::noinline, gnu::cold]] void RecordCarry(std::uint64_t c) { carries_.push_back(c); }

  // Collective. Combines the sparse buffer and sends it to the stage-1 owners (row lo, cyclic).
  void FlushCold() {
    const auto V = static_cast<std::uint64_t>(n_words_);
    SortAndCombine(cold_, V * V, scratch_);
    std::vector<std::size_t> displs;
    const big_vector<char> got = ExchangeByOwner(
        comm_, cold_.data(), cold_.size(), [&](const Entry& e) { return static_cast<int>((e.key / V) % size_); },
        displs);
    cold_.clear();
    const std::size_t at = owned_.size();
    owned_.resize(at + got.size() / sizeof(Entry));
    if (!got.empty()) std::memcpy(owned_.data() + at, got.data(), got.size());
    // Keep the owner's store near its combined size: compact when it has doubled.
    if (owned_.size() > 2 * owned_compacted_ + (std::size_t{1} << 20)) {
      SortAndCombine(owned_, V * V, scratch_);
      owned_compacted_ = owned_.size();
    }
    ++n_cold_flushes_;
  }

  // Collective. After the last FlushCold: sums the triangles, balances final row ownership by
  // nonzeros, and moves every count, both triangles, to its final row owner, which builds the
  // CSR. Cells for this rank's own rows skip the exchange.
  CooccurrenceRows Finish() {
    const auto V = static_cast<std::uint64_t>(n_words_);
    cold_ = {};
    scratch_ = {};

    // 1. The band sums, in place in this rank's band of the triangle, with carries: the
    //    carries of the additions, and every rank's counting carries that fall in this band.
    const std::uint64_t band_first = TriangleCells(band_[rank_]);
    Cell16* own = hot_.data();
    std::vector<std::uint64_t> carries;
    PairwiseBands([&](std::uint64_t at, const Cell16* in, std::uint64_t n) {
      for (std::uint64_t c = 0; c < n; ++c) AddToCell(own, band_first + at + c, in[c], carries);
    });
    {
      std::vector<std::size_t> displs;
      const auto band_of = [&](std::uint64_t cell) {
        // The last rank r with TriangleCells(band_[r]) <= cell.
        int r = 0;
        while (r + 1 < size_ && TriangleCells(band_[r + 1]) <= cell) ++r;
        return r;
      };
      const big_vector<char> got = ExchangeByOwner(comm_, carries_.data(), carries_.size(), band_of, displs);
      carries_ = {};
      const std::size_t at = carries.size();
      carries.resize(at + got.size() / sizeof(std::uint64_t));
      if (!got.empty()) std::memcpy(carries.data() + at, got.data(), got.size());
      std::sort(carries.begin(), carries.end());
      n_band_carries_ = carries.size();
    }
    SortAndCombine(owned_, V * V, scratch_);
    scratch_ = {};

    // Every nonzero of C = X + X^T held here, as (row, col, count): the band in ascending hi
    // (so each row's columns come out sorted), then the sparse part.
    auto for_each_cell = [&](auto&& fn) {
      auto both = [&](std::uint64_t lo, std::uint64_t hi, global_int_t c) {
        if (lo == hi) {
          fn(hi, lo, 2 * c);  // C = X + X^T doubles the diagonal
        } else {
          fn(hi, lo, c);
          fn(lo, hi, c);
        }
      };
      auto carry = carries.cbegin();
      for (std::uint64_t h = band_[rank_], cell = band_first; h < band_[rank_ + 1]; ++h)
        for (std::uint64_t lo = 0; lo <= h; ++lo, ++cell) {
          global_int_t c = own[cell];
          for (; carry != carries.cend() && *carry == cell; ++carry) c += 65536;
          if (c != 0) both(lo, h, c);
        }
      for (const Entry& e : owned_) both(e.key / V, e.key % V, e.count);
    };

    // 2. Nonzeros per row: this rank's, their sum over ranks (which sizes the CSR rows and
    //    balances contiguous row ranges by nonzeros), and the part from lower ranks (MPI_Exscan,
    //    which says where this rank's cells go inside each row).
    CooccurrenceRows rows;
    rows.n_words = n_words_;
    std::vector<global_int_t> local_nnz(V, 0), global_nnz(V, 0), before_nnz(V, 0);
    for_each_cell([&](std::uint64_t row, std::uint64_t, global_int_t) { ++local_nnz[row]; });
    QWEM_MPI(MPI_Allreduce(local_nnz.data(), global_nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm_));
    QWEM_MPI(MPI_Exscan(local_nnz.data(), before_nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm_));
    if (rank_ == 0) std::fill(before_nnz.begin(), before_nnz.end(), 0);  // Exscan leaves rank 0's undefined
    for (auto c : global_nnz) rows.nnz += c;
    rows.row_ranges = BalanceRows(global_nnz, size_);
    rows.row_begin = rows.row_ranges[rank_];
    rows.row_end = rows.row_ranges[rank_ + 1];
    const auto n_local = static_cast<std::size_t>(rows.n_local_rows());
    rows.row_ptr.assign(n_local + 1, 0);
    for (std::size_t r = 0; r < n_local; ++r) rows.row_ptr[r + 1] = rows.row_ptr[r] + global_nnz[rows.row_begin + r];
    rows.cols.resize(static_cast<std::size_t>(rows.row_ptr[n_local]));
    rows.values.resize(rows.cols.size());
    std::vector<int> owner(V);
    std::vector<std::size_t> send_displs(size_ + 1, 0);
    for (int r = 0; r < size_; ++r)
      for (global_int_t i = rows.row_ranges[r]; i < rows.row_ranges[r + 1]; ++i) {
        owner[i] = r;
        if (r != rank_) send_displs[r + 1] += static_cast<std::size_t>(local_nnz[i]) * sizeof(Cell);
      }
    for (int r = 0; r < size_; ++r) send_displs[r + 1] += send_displs[r];

    // 3. One pass: cells of other ranks' rows into the send buffer, cells of own rows straight
    //    into the CSR after those of lower ranks. Every source emits a row's columns in
    //    ascending order and sources come in rank order, so rows come out sorted (rows fed by
    //    the sparse part are checked and sorted below).
    std::vector<global_int_t> own_next(n_local), low_next(n_local), high_next(n_local);
    for (std::size_t r = 0; r < n_local; ++r) {
      const std::size_t row = rows.row_begin + r;
      low_next[r] = rows.row_ptr[r];
      own_next[r] = rows.row_ptr[r] + before_nnz[row];
      high_next[r] = own_next[r] + local_nnz[row];
    }
    local_nnz = global_nnz = before_nnz = {};
    auto place = [&](std::vector<global_int_t>& next, std::uint64_t row, std::uint64_t col, global_int_t c) {
      const global_int_t at = next[row - rows.row_begin]++;
      rows.cols[at] = static_cast<word_id_t>(col);
      rows.values[at] = c;
    };
    big_vector<char> got;
    std::vector<std::size_t> recv_displs;
    {
      big_vector<Cell> send(send_displs.back() / sizeof(Cell));
      std::vector<std::size_t> fill(size_);
      for (int r = 0; r < size_; ++r) fill[r] = send_displs[r] / sizeof(Cell);
      for_each_cell([&](std::uint64_t row, std::uint64_t col, global_int_t c) {
        const int o = owner[row];
        if (o == rank_) place(own_next, row, col, c);
        else send[fill[o]++] = Cell{static_cast<std::uint32_t>(row), static_cast<std::uint32_t>(col), c};
      });
      hot_ = {};
      owned_ = {};
      got = ExchangeBytes(comm_, reinterpret_cast<const char*>(send.data()), send_displs, recv_displs);
    }
    for (int from = 0; from < size_; ++from) {
      auto& next = from < rank_ ? low_next : high_next;
      for (std::size_t b = recv_displs[from]; b < recv_displs[from + 1]; b += sizeof(Cell)) {
        Cell c;
        std::memcpy(&c, got.data() + b, sizeof(Cell));
        place(next, c.row, c.col, c.count);
      }
    }
    got = {};
    std::vector<std::pair<word_id_t, global_int_t>> tmp;
    for (std::size_t r = 0; r < n_local; ++r) {
      const global_int_t b = rows.row_ptr[r], e = rows.row_ptr[r + 1];
      if (std::is_sorted(rows.cols.begin() + b, rows.cols.begin() + e)) continue;
      tmp.clear();
      for (global_int_t k = b; k < e; ++k) tmp.emplace_back(rows.cols[k], rows.values[k]);
      std::sort(tmp.begin(), tmp.end());
      for (global_int_t k = b; k < e; ++k) std::tie(rows.cols[k], rows.values[k]) = tmp[k - b];
    }
    rows.n_pairs = 2 * AllreduceSum(comm_, n_pairs_);
    return rows;
  }

  global_int_t hot_words() const { return hot_words_; }
  global_int_t n_positions() const { return n_positions_; }
  int n_cold_flushes() const { return n_cold_flushes_; }
  // Carries in this rank's band after the sums: how many counts went past 16 bits.
  std::size_t n_band_carries() const { return n_band_carries_; }

 private:
  std::uint64_t BandCells(int r) const { return TriangleCells(band_[r + 1]) - TriangleCells(band_[r]); }

  // Collective. The pairwise reduce-scatter of the triangle's bands: in step k this rank sends
  // band (rank + k) mod P and receives its own band from rank (rank - k) mod P, in pieces of at
  // most 32 MiB; add(offset, cells, n) consumes each received piece. Written out because Open
  // MPI 4.1's MPI_Reduce_scatter ran at about 200 MB/s on a 400 MB triangle between two ranks
  // here, and because the sum may need a wider type than the triangle.
  template <class Add>
  void PairwiseBands(Add&& add) {
    constexpr std::uint64_t kPiece = std::uint64_t{8} << 20;  // cells
    const std::uint64_t my_cells = BandCells(rank_);
    std::vector<Cell16> incoming(std::min(my_cells, kPiece));
    // Every message pair (r, s) must agree on the number of pieces, so all ranks use the count
    // of the largest band, with empty messages where a band has run out.
    std::uint64_t largest = 0;
    for (int r = 0; r < size_; ++r) largest = std::max(largest, BandCells(r));
    const std::uint64_t steps = (largest + kPiece - 1) / kPiece;
    for (int k = 1; k < size_; ++k) {
      const int to = (rank_ + k) % size_, from = (rank_ - k + size_) % size_;
      const Cell16* send = hot_.data() + TriangleCells(band_[to]);
      const std::uint64_t send_cells = BandCells(to);
      for (std::uint64_t i = 0; i < steps; ++i) {
        const std::uint64_t s0 = std::min(send_cells, i * kPiece), s1 = std::min(send_cells, s0 + kPiece);
        const std::uint64_t r0 = std::min(my_cells, i * kPiece), r1 = std::min(my_cells, r0 + kPiece);
        QWEM_MPI(MPI_Sendrecv(send + s0, static_cast<int>(s1 - s0), MPI_UINT16_T, to, 21, incoming.data(),
                              static_cast<int>(r1 - r0), MPI_UINT16_T, from, 21, comm_, MPI_STATUS_IGNORE));
        add(r0, incoming.data(), r1 - r0);
      }
    }
  }

  MPI_Comm comm_;
  int rank_, size_;
  global_int_t n_words_;
  int window_;
  global_int_t hot_words_;
  big_vector<Cell16> hot_;               // the triangle
  std::vector<std::uint64_t> band_;      // triangle rows of each rank's band
  std::vector<std::uint64_t> carries_;   // triangle cells whose 16 bits wrapped while counting
  std::vector<std::uint64_t> cells_;     // CountDense's cells of two positions
  big_vector<Entry> cold_, owned_, scratch_;
  std::size_t cold_capacity_ = 0;
  std::size_t owned_compacted_ = 0;
  std::size_t seg_end_ = 0;
  global_int_t n_pairs_ = 0;
  global_int_t n_positions_ = 0;
  int n_cold_flushes_ = 0;
  std::size_t n_band_carries_ = 0;
};

LocalCounts::LocalCounts(std::unique_ptr<Accumulator> acc) : acc_(std::move(acc)) {}
LocalCounts::LocalCounts(LocalCounts&&) noexcept = default;
LocalCounts& LocalCounts::operator=(LocalCounts&&) noexcept = default;
LocalCounts::~LocalCounts() = default;

LocalCounts CountLocal(MPI_Comm comm, big_vector<word_id_t>& stream, big_vector<word_id_t>& whole,
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
  // flush the sparse buffers (some rank's is full), and whether all are done.
  auto acc = std::make_unique<LocalCounts::Accumulator>(comm, n_words, options);
  constexpr std::size_t chunk = std::size_t{1} << 20;
  std::size_t span = 0, t = 0;
  double kernel_seconds = 0;
  for (;;) {
    const double k0 = MPI_Wtime();
    std::size_t budget = chunk;
    while (span < 2 && budget > 0) {
      const std::size_t from = std::max(t, spans[span][0]);
      t = acc->Count(stream, from, spans[span][1], budget);
      budget -= std::min(budget, t - from);
      if (t < spans[span][1]) break;  // buffer full or budget used
      ++span;
    }
    kernel_seconds += MPI_Wtime() - k0;
    int flags[2] = {acc->ColdNearlyFull() ? 1 : 0, span < 2 ? 1 : 0};
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, comm));
    const bool all_done = flags[1] == 0;
    if (flags[0] || all_done) acc->FlushCold();
    if (all_done) break;
  }
  stream = {};
  if (stats) {
    stats->n_local_positions = acc->n_positions();
    stats->hot_words = acc->hot_words();
    stats->n_cold_flushes = acc->n_cold_flushes();
    stats->count_seconds = MPI_Wtime() - t0;
    stats->kernel_seconds = kernel_seconds;
  }
  return LocalCounts(std::move(acc));
}

CooccurrenceRows ReduceCounts(LocalCounts&& counts, CountStats* stats) {
  if (!counts.acc_) throw std::logic_error("ReduceCounts: counts already reduced");
  const double t0 = MPI_Wtime();
  std::unique_ptr<LocalCounts::Accumulator> acc = std::move(counts.acc_);
  CooccurrenceRows rows = acc->Finish();
  if (stats) {
    stats->n_band_carries = static_cast<global_int_t>(acc->n_band_carries());
    stats->reduce_seconds = MPI_Wtime() - t0;
  }
  return rows;
}

CooccurrenceRows CountCooccurrences(MPI_Comm comm, big_vector<word_id_t>& stream, big_vector<word_id_t>& whole,
                                    global_int_t n_words, const CooccurrenceOptions& options, CountStats* stats) {
  return ReduceCounts(CountLocal(comm, stream, whole, n_words, options, stats), stats);
}

PetscErrorCode AssembleOnPattern(MPI_Comm comm, const CooccurrenceRows& rows,
                                 const std::function<double(global_int_t, word_id_t, global_int_t)>& value, Mat* A) {
  PetscFunctionBeginUser;
  PetscCheck(rows.n_words <= PETSC_MAX_INT, comm, PETSC_ERR_SUP, "V = %lld exceeds PetscInt",
             static_cast<long long>(rows.n_words));
  const auto m = static_cast<PetscInt>(rows.n_local_rows());
  const auto V = static_cast<PetscInt>(rows.n_words);
  std::vector<PetscInt> d_nnz(m, 0), o_nnz(m, 0);
  for (PetscInt r = 0; r < m; ++r)
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k)
      (rows.cols[k] >= rows.row_begin && rows.cols[k] < rows.row_end ? d_nnz : o_nnz)[r]++;
  PetscCall(MatCreate(comm, A));
  PetscCall(MatSetSizes(*A, m, m, V, V));
  PetscCall(MatSetType(*A, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(*A, 0, d_nnz.data()));
  PetscCall(MatMPIAIJSetPreallocation(*A, 0, d_nnz.data(), 0, o_nnz.data()));
  PetscCall(MatSetOption(*A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  std::vector<PetscInt> cols;
  std::vector<PetscScalar> vals;
  for (PetscInt r = 0; r < m; ++r) {
    const global_int_t row = rows.row_begin + r;
    cols.clear();
    vals.clear();
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k) {
      cols.push_back(rows.cols[k]);
      vals.push_back(value(row, rows.cols[k], rows.values[k]));
    }
    const auto grow = static_cast<PetscInt>(row);
    PetscCall(MatSetValues(*A, 1, &grow, static_cast<PetscInt>(cols.size()), cols.data(), vals.data(), INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

PetscErrorCode AssembleCountMatrix(MPI_Comm comm, const CooccurrenceRows& rows, Mat* C) {
  PetscFunctionBeginUser;
  PetscCall(AssembleOnPattern(
      comm, rows, [](global_int_t, word_id_t, global_int_t c) { return static_cast<double>(c); }, C));
  PetscFunctionReturn(0);
}

}  // namespace qwem
