// The reduce phase: row ownership balanced by nonzeros (counted exactly before any count moves),
// the ranks' dense triangles summed band by band onto the owners of the bands' rows, and every
// nonzero placed in its row owner's CSR (see cooccurrence.hpp).
//
// A triangle cell (lo, hi) gives C two entries: (hi, lo) in row hi and (lo, hi) in row lo. With
// band r = the triangle rows hi of rank r's rows, the first is always local, and so is the
// second when rank r also owns row lo. The rest, the blocks (lo of rank s < r, hi of rank r),
// go to rank s as summed 16-bit cells, two bytes each whatever the density (the rows of
// frequent words, the first rows, have most of their nonzeros in such blocks). Only the sparse
// part (pairs with a word outside the triangle) travels as (row, col, count) entries.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "qwem/cooccurrence.hpp"
#include "qwem/exchange.hpp"

namespace qwem {

namespace {

// Messages carry at most this many cells (16 MiB), so MPI's int counts never overflow and the
// buffers stay small.
constexpr std::uint64_t kPiece = std::uint64_t{8} << 20;

std::uint64_t BandCells(const std::vector<std::uint64_t>& band, int r) {
  return TriangleCells(band[r + 1]) - TriangleCells(band[r]);
}

// The triangle row of a cell in rows [h0, h1): the largest h there with TriangleCells(h) <= cell.
std::uint64_t TriangleRow(std::uint64_t cell, std::uint64_t h0, std::uint64_t h1) {
  while (h1 - h0 > 1) {
    const std::uint64_t mid = h0 + (h1 - h0) / 2;
    (TriangleCells(mid) <= cell ? h0 : h1) = mid;
  }
  return h0;
}

// Triangle rows [band[r], band[r+1]) with about equal cell counts (the share of the scan in
// RowNonzeros).
std::vector<std::uint64_t> EqualCellBands(std::uint64_t H, int size) {
  std::vector<std::uint64_t> band(size + 1, H);
  band[0] = 0;
  for (int r = 1; r < size; ++r) {
    const std::uint64_t target = TriangleCells(H) * r / size;
    std::uint64_t h = band[r - 1];
    while (h < H && TriangleCells(h) < target) ++h;
    band[r] = h;
  }
  return band;
}

// Bit b set iff cells[b] != 0, for 64 cells (four 16-bit cells per 64-bit word at a time: the
// top bit of each lane marks a nonzero lane, and one multiplication gathers the four marks).
inline std::uint64_t NonzeroMask64(const Cell16* cells) {
  constexpr std::uint64_t kLow15 = 0x7FFF7FFF7FFF7FFFull, kTop = 0x8000800080008000ull;
  constexpr std::uint64_t kGather =
      (std::uint64_t{1} << 48) | (std::uint64_t{1} << 33) | (std::uint64_t{1} << 18) | (std::uint64_t{1} << 3);
  std::uint64_t mask = 0;
  for (int i = 0; i < 16; ++i) {
    std::uint64_t x;
    std::memcpy(&x, cells + 4 * i, sizeof x);
    const std::uint64_t marks = (((x & kLow15) + kLow15) | x) & kTop;  // top bit of each nonzero lane
    mask |= (((marks >> 15) * kGather) >> 48 & 0xF) << (4 * i);
  }
  return mask;
}

// Collective. The nonzeros of every row of C = X + X^T, exact, before any count moves: the
// union of the ranks' nonzero triangle cells (a bitmap, OR-reduced; a cell that wrapped to 0
// has a carry), each rank scanning an equal share of it, plus the sparse entries (each held by
// one rank after combining), summed over the ranks.
std::vector<global_int_t> RowNonzeros(MPI_Comm comm, PairCounter& counter, const big_vector<SparseEntry>& owned,
                                      std::uint64_t V) {
  const std::uint64_t H = static_cast<std::uint64_t>(counter.dense_words()), cells = TriangleCells(H);
  std::vector<std::uint64_t> bits((cells + 63) / 64, 0);
  const Cell16* triangle = counter.triangle();
  const std::uint64_t whole = cells / 64;
  for (std::uint64_t word = 0; word < whole; ++word) bits[word] = NonzeroMask64(triangle + word * 64);
  for (std::uint64_t cell = whole * 64; cell < cells; ++cell)
    bits[cell / 64] |= static_cast<std::uint64_t>(triangle[cell] != 0) << (cell % 64);
  for (std::uint64_t cell : counter.carries()) bits[cell / 64] |= std::uint64_t{1} << (cell % 64);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, bits.data(), static_cast<int>(bits.size()), MPI_UINT64_T, MPI_BOR, comm));

  std::vector<global_int_t> nnz(V, 0);
  const std::vector<std::uint64_t> share = EqualCellBands(H, CommSize(comm));
  const int rank = CommRank(comm);
  for (std::uint64_t hi = share[rank]; hi < share[rank + 1]; ++hi) {
    const std::uint64_t begin = TriangleCells(hi), end = begin + hi + 1;
    for (std::uint64_t cell = begin; cell < end;) {
      const std::uint64_t word = cell / 64, offset = cell % 64;
      std::uint64_t w = bits[word] >> offset;
      const std::uint64_t span = std::min<std::uint64_t>(64 - offset, end - cell);
      if (span < 64) w &= (std::uint64_t{1} << span) - 1;
      for (; w != 0; w &= w - 1) {
        const std::uint64_t lo = cell + static_cast<std::uint64_t>(__builtin_ctzll(w)) - begin;
        ++nnz[hi];
        if (lo != hi) ++nnz[lo];
      }
      cell += span;
    }
  }
  for (const SparseEntry& e : owned) {
    const std::uint64_t lo = e.key / V, hi = e.key % V;
    ++nnz[hi];
    if (lo != hi) ++nnz[lo];
  }
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm));
  return nnz;
}

// Collective. The pairwise reduce-scatter of the triangle's bands: in step k this rank sends
// band (rank + k) mod P and receives its own band from rank (rank - k) mod P, in pieces of at
// most kPiece cells; add(offset, cells, n) consumes each received piece. Written out because Open
// MPI 4.1's MPI_Reduce_scatter ran at about 200 MB/s on a 400 MB triangle between two ranks
// here, and because the sum needs the carries, which MPI's sum would drop.
template <class Add>
void PairwiseBands(MPI_Comm comm, const Cell16* triangle, const std::vector<std::uint64_t>& band, Add&& add) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const std::uint64_t my_cells = BandCells(band, rank);
  std::vector<Cell16> incoming(std::min(my_cells, kPiece));
  // Every message pair (r, s) must agree on the number of pieces, so all ranks use the count of
  // the largest band, with empty messages where a band has run out.
  std::uint64_t largest = 0;
  for (int r = 0; r < size; ++r) largest = std::max(largest, BandCells(band, r));
  const std::uint64_t steps = (largest + kPiece - 1) / kPiece;
  for (int k = 1; k < size; ++k) {
    const int to = (rank + k) % size, from = (rank - k + size) % size;
    const Cell16* send = triangle + TriangleCells(band[to]);
    const std::uint64_t send_cells = BandCells(band, to);
    for (std::uint64_t i = 0; i < steps; ++i) {
      const std::uint64_t s0 = std::min(send_cells, i * kPiece), s1 = std::min(send_cells, s0 + kPiece);
      const std::uint64_t r0 = std::min(my_cells, i * kPiece), r1 = std::min(my_cells, r0 + kPiece);
      QWEM_MPI(MPI_Sendrecv(send + s0, static_cast<int>(s1 - s0), MPI_UINT16_T, to, 21, incoming.data(),
                            static_cast<int>(r1 - r0), MPI_UINT16_T, from, 21, comm, MPI_STATUS_IGNORE));
      add(r0, incoming.data(), r1 - r0);
    }
  }
}

// Collective. Sums every rank's triangle into this rank's band (in place in its own triangle)
// and returns the band's carries, sorted: those of the additions, and every rank's counting
// carries that fall in the band.
std::vector<std::uint64_t> SumBand(MPI_Comm comm, PairCounter& counter, const std::vector<std::uint64_t>& band) {
  const int rank = CommRank(comm), size = CommSize(comm);
  Cell16* own = counter.triangle();
  const std::uint64_t band_first = TriangleCells(band[rank]);
  std::vector<std::uint64_t> carries;
  PairwiseBands(comm, own, band, [&](std::uint64_t at, const Cell16* in, std::uint64_t n) {
    for (std::uint64_t c = 0; c < n; ++c) AddToCell(own, band_first + at + c, in[c], carries);
  });
  const auto band_of = [&](std::uint64_t cell) {
    // The last rank r with TriangleCells(band[r]) <= cell (and a non-empty band).
    int r = 0;
    while (r + 1 < size && TriangleCells(band[r + 1]) <= cell) ++r;
    return r;
  };
  std::vector<std::uint64_t>& counting = counter.carries();
  StreamAppend(comm, counting.data(), counting.size(), band_of, carries);
  counting = {};
  std::sort(carries.begin(), carries.end());
  return carries;
}

// A count on its way to its row owner (the sparse part).
struct Cell {
  std::uint32_t row, col;
  global_int_t count;
};

// Fills this rank's CSR rows: row_ptr from the exact row nonzeros, then each row's entries in
// column order, from three sources in turn (a row the sparse part left out of order is merged
// at the end):
//  1. its band: for each hi, row hi's cells (hi, lo <= hi), and (lo, hi) for its own rows lo;
//  2. the blocks of the higher ranks' bands in its columns, in rank order (their columns ascend);
//  3. the sparse entries: its own, then the other holders'.
// The blocks are exchanged before any placing (ExchangeBlocks), so that every rank then places
// its share at the same time (placed as they arrived, the lowest rank's blocks waited for the
// higher ranks to place their bands); they arrive in place, in the receiver's own triangle,
// whose rows outside its band the band sums have left unused. Cells are read row by row; an
// entry (lo, hi) goes to row lo, a different row for every cell, but the rows' write positions
// are few enough to stay in cache (a column-by-column order in tiles of rows measured 40-65%
// more time in ReduceCounts).
class RowBuilder {
 public:
  // The cells of a higher rank's band in this rank's columns: rows hi in [hi0, hi1), columns lo
  // in [lo0, lo0 + width), with the carries among them (ascending cells).
  struct Block {
    std::uint64_t hi0 = 0, hi1 = 0, lo0 = 0, width = 0;
    std::vector<std::uint64_t> carries;

    std::uint64_t RowsPerPiece() const {
      return std::max<std::uint64_t>(1, kPiece / std::max<std::uint64_t>(1, width));
    }
    std::uint64_t Pieces() const { return width == 0 ? 0 : (hi1 - hi0 + RowsPerPiece() - 1) / RowsPerPiece(); }
    std::pair<std::uint64_t, std::uint64_t> PieceRows(std::uint64_t i) const {
      if (width == 0) return {hi0, hi0};
      const std::uint64_t a = std::min(hi1, hi0 + i * RowsPerPiece());
      return {a, std::min(hi1, a + RowsPerPiece())};
    }
    bool Contains(std::uint64_t cell) const {
      if (width == 0 || cell < TriangleCells(hi0) || cell >= TriangleCells(hi1)) return false;
      const std::uint64_t col = cell - TriangleCells(TriangleRow(cell, hi0, hi1));
      return col >= lo0 && col < lo0 + width;
    }
  };

  RowBuilder(MPI_Comm comm, CooccurrenceRows& rows, const std::vector<global_int_t>& row_nnz)
      : comm_(comm), rows_(rows), next_(rows.n_local_rows()) {
    const auto n = static_cast<std::size_t>(rows.n_local_rows());
    rows.row_ptr.assign(n + 1, 0);
    for (std::size_t r = 0; r < n; ++r) rows.row_ptr[r + 1] = rows.row_ptr[r] + row_nnz[rows.row_begin + r];
    rows.cols.resize(static_cast<std::size_t>(rows.row_ptr[n]));
    rows.values.resize(rows.cols.size());
    for (std::size_t r = 0; r < n; ++r) next_[r] = rows.row_ptr[r];
  }

  void Place(std::uint64_t row, std::uint64_t col, global_int_t count) {
    const global_int_t at = next_[row - rows_.row_begin]++;
    rows_.cols[at] = static_cast<word_id_t>(col);
    rows_.values[at] = count;
  }

  // Collective. Each rank sends every lower rank s the summed cells (lo of s, hi of its band)
  // and receives the same block of its own columns from every higher rank into the same cells
  // of its own triangle (returned in rank order): in step k, to rank - k and from rank + k, the
  // carries of a block first, then its cells in pieces of whole triangle rows (one MPI datatype
  // per piece on each side: no copies, no fresh pages).
  std::vector<Block> ExchangeBlocks(Cell16* triangle, const std::vector<std::uint64_t>& band,
                                    const std::vector<std::uint64_t>& carries) const {
    const int rank = CommRank(comm_), size = CommSize(comm_);
    std::vector<Block> received;
    for (int k = 1; k < size; ++k) {
      const int to = rank - k, from = rank + k;
      const Block send = to >= 0 ? MakeBlock(band, rank, to) : Block{};
      Block recv = from < size ? MakeBlock(band, from, rank) : Block{};
      const int to_rank = to >= 0 ? to : MPI_PROC_NULL, from_rank = from < size ? from : MPI_PROC_NULL;
      std::vector<std::uint64_t> send_carries;
      for (std::uint64_t cell : carries)
        if (send.Contains(cell)) send_carries.push_back(cell);
      std::uint64_t n_send = send_carries.size(), n_recv = 0;
      QWEM_MPI(MPI_Sendrecv(&n_send, 1, MPI_UINT64_T, to_rank, 22, &n_recv, 1, MPI_UINT64_T, from_rank, 22, comm_,
                            MPI_STATUS_IGNORE));
      recv.carries.resize(from < size ? n_recv : 0);
      QWEM_MPI(MPI_Sendrecv(send_carries.data(), static_cast<int>(send_carries.size()), MPI_UINT64_T, to_rank, 23,
                            recv.carries.data(), static_cast<int>(recv.carries.size()), MPI_UINT64_T, from_rank, 23,
                            comm_, MPI_STATUS_IGNORE));
      // Every rank makes the same number of exchanges in step k (empty messages where its blocks
      // have run out), so that each message has its partner.
      std::uint64_t steps = 0;
      for (int r = k; r < size; ++r) steps = std::max(steps, MakeBlock(band, r, r - k).Pieces());
      for (std::uint64_t i = 0; i < steps; ++i) {
        const auto [s0, s1] = send.PieceRows(i);
        const auto [r0, r1] = recv.PieceRows(i);
        BlockRows out(s0, s1, send.lo0, send.width), in(r0, r1, recv.lo0, recv.width);
        QWEM_MPI(MPI_Sendrecv(triangle, out.count(), out.datatype(), to_rank, 24, triangle, in.count(), in.datatype(),
                              from_rank, 24, comm_, MPI_STATUS_IGNORE));
      }
      if (from < size) received.push_back(std::move(recv));
    }
    return received;
  }

  // 1. Own band [hi0, hi1) of the summed triangle with its sorted carries.
  void PlaceBand(const Cell16* triangle, std::uint64_t hi0, std::uint64_t hi1,
                 const std::vector<std::uint64_t>& carries) {
    const auto row_begin = static_cast<std::uint64_t>(rows_.row_begin);
    auto carry = carries.cbegin();
    for (std::uint64_t hi = hi0; hi < hi1; ++hi)
      for (std::uint64_t lo = 0, cell = TriangleCells(hi); lo <= hi; ++lo, ++cell) {
        global_int_t c = triangle[cell];
        for (; carry != carries.cend() && *carry == cell; ++carry) c += 65536;
        if (c == 0) continue;
        if (lo == hi) {
          Place(hi, lo, 2 * c);  // C = X + X^T doubles the diagonal
        } else {
          Place(hi, lo, c);
          if (lo >= row_begin) Place(lo, hi, c);
        }
      }
  }

  // 2. The blocks of the higher ranks' bands, where ExchangeBlocks put them: (lo, hi) in row lo.
  void PlaceBlocks(const Cell16* triangle, const std::vector<Block>& blocks) {
    for (const Block& b : blocks) {
      auto carry = b.carries.cbegin();
      for (std::uint64_t hi = b.hi0; hi < b.hi1; ++hi)
        for (std::uint64_t lo = b.lo0, cell = TriangleCells(hi) + b.lo0; lo < b.lo0 + b.width; ++lo, ++cell) {
          global_int_t c = triangle[cell];
          for (; carry != b.carries.cend() && *carry == cell; ++carry) c += 65536;
          if (c != 0) Place(lo, hi, c);
        }
    }
  }

  // 3. Collective. The sparse entries (each held once) to the owners of both their rows: this
  // rank's own cells first, then the others' streamed in bounded rounds (at V = 100k they are
  // hundreds of MB of cells). The entries are sorted by (lo, hi), so each holder's cells reach
  // a row in column order: a row is its sorted dense part and own cells, then the cells from
  // the other ranks (on 2 ranks, one sorted run), which Finish merges.
  void PlaceSparse(const big_vector<SparseEntry>& owned, std::uint64_t V, const std::vector<int>& owner) {
    const int rank = CommRank(comm_);
    const auto cells = [V](const SparseEntry& e, auto&& use) {
      const auto lo = static_cast<std::uint32_t>(e.key / V), hi = static_cast<std::uint32_t>(e.key % V);
      if (lo == hi) {
        use(Cell{hi, lo, 2 * e.count});
      } else {
        use(Cell{hi, lo, e.count});
        use(Cell{lo, hi, e.count});
      }
    };
    for (const SparseEntry& e : owned)
      cells(e, [&](const Cell& c) {
        if (owner[c.row] == rank) Place(c.row, c.col, c.count);
      });
    StreamToOwners<Cell>(
        comm_, owned.size(), 2,
        [&](std::size_t k, auto&& emit) {
          cells(owned[k], [&](const Cell& c) {
            if (owner[c.row] != rank) emit(owner[c.row], c);
          });
        },
        [&](const Cell& c) { Place(c.row, c.col, c.count); });
  }

  // Every row full, and sorted: a row the sparse part left unsorted is split at its first
  // descent, the part after it sorted if it is not (cells from several other ranks), and the
  // two merged.
  void Finish() {
    const auto n = static_cast<std::size_t>(rows_.n_local_rows());
    std::vector<std::pair<word_id_t, global_int_t>> row, merged;
    for (std::size_t r = 0; r < n; ++r) {
      const global_int_t b = rows_.row_ptr[r], e = rows_.row_ptr[r + 1];
      if (next_[r] != e)
        throw std::logic_error("ReduceCounts: row " + std::to_string(rows_.row_begin + r) +
                               " got a different number of nonzeros than counted");
      const auto first = rows_.cols.begin() + b, last = rows_.cols.begin() + e;
      const auto descent = std::is_sorted_until(first, last);
      if (descent == last) continue;
      row.clear();
      for (global_int_t k = b; k < e; ++k) row.emplace_back(rows_.cols[k], rows_.values[k]);
      const auto mid = row.begin() + (descent - first);
      if (!std::is_sorted(mid, row.end())) std::sort(mid, row.end());
      merged.resize(row.size());
      std::merge(row.begin(), mid, mid, row.end(), merged.begin());
      for (global_int_t k = b; k < e; ++k) std::tie(rows_.cols[k], rows_.values[k]) = merged[k - b];
    }
  }

 private:
  // The cells (lo in [lo0, lo0 + width), hi in [h0, h1)) of a triangle as one MPI datatype
  // (relative to the triangle's first cell); empty: count() 0.
  struct BlockRows {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    BlockRows(std::uint64_t h0, std::uint64_t h1, std::uint64_t lo0, std::uint64_t width) {
      if (h1 <= h0 || width == 0) return;
      std::vector<MPI_Aint> at(h1 - h0);
      for (std::uint64_t hi = h0; hi < h1; ++hi)
        at[hi - h0] = static_cast<MPI_Aint>((TriangleCells(hi) + lo0) * sizeof(Cell16));
      QWEM_MPI(MPI_Type_create_hindexed_block(static_cast<int>(at.size()), static_cast<int>(width), at.data(),
                                              MPI_UINT16_T, &type));
      QWEM_MPI(MPI_Type_commit(&type));
    }
    ~BlockRows() {
      if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
    }
    BlockRows(const BlockRows&) = delete;
    BlockRows& operator=(const BlockRows&) = delete;
    int count() const { return type == MPI_DATATYPE_NULL ? 0 : 1; }
    MPI_Datatype datatype() const { return type == MPI_DATATYPE_NULL ? MPI_UINT16_T : type; }
  };

  // Rank `holder`'s band rows in rank `cols`'s columns (cols < holder, so lo < hi throughout).
  Block MakeBlock(const std::vector<std::uint64_t>& band, int holder, int cols) const {
    Block b;
    b.hi0 = band[holder];
    b.hi1 = band[holder + 1];
    b.lo0 = band[cols];
    b.width = b.hi0 == b.hi1 ? 0 : band[cols + 1] - band[cols];
    return b;
  }

  MPI_Comm comm_;
  CooccurrenceRows& rows_;
  std::vector<global_int_t> next_;
};

}  // namespace

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

CooccurrenceRows ReduceCounts(MPI_Comm comm, PartialCounts&& counts, ReduceStats* stats) {
  const double t0 = MPI_Wtime();
  double mark = t0;
  ReduceStats local;
  const auto step_done = [&](ReduceStats::Step step) {
    const double now = MPI_Wtime();
    local.step_seconds[step] = now - mark;
    mark = now;
  };
  PartialCounts partial = std::move(counts);
  PairCounter& counter = partial.counter;
  const auto V = static_cast<std::uint64_t>(counter.n_words());
  const auto H = static_cast<std::uint64_t>(counter.dense_words());
  const int rank = CommRank(comm), size = CommSize(comm);
  counter.sparse() = {};
  {
    big_vector<SparseEntry> scratch;
    SortAndCombine(partial.owned, V * V, scratch);
  }
  step_done(ReduceStats::kCombine);

  // 1. Row ownership: contiguous row ranges balanced by the exact nonzeros of C.
  CooccurrenceRows rows;
  rows.n_words = static_cast<global_int_t>(V);
  rows.window = counter.window();
  const std::vector<global_int_t> row_nnz = RowNonzeros(comm, counter, partial.owned, V);
  for (auto c : row_nnz) rows.nnz += c;
  rows.row_ranges = BalanceRows(row_nnz, size);
  rows.row_begin = rows.row_ranges[rank];
  rows.row_end = rows.row_ranges[rank + 1];
  step_done(ReduceStats::kNonzeros);

  // 2. The band sums: rank r's band is the triangle rows of its own rows.
  std::vector<std::uint64_t> band(size + 1);
  for (int r = 0; r <= size; ++r) band[r] = std::min<std::uint64_t>(rows.row_ranges[r], H);
  const std::vector<std::uint64_t> carries = SumBand(comm, counter, band);
  step_done(ReduceStats::kBandSums);

  // 3. The CSR rows: the higher ranks' blocks in this rank's columns fetched, then the own band
  // and those blocks placed, then the sparse entries.
  RowBuilder builder(comm, rows, row_nnz);
  const std::vector<RowBuilder::Block> blocks = builder.ExchangeBlocks(counter.triangle(), band, carries);
  step_done(ReduceStats::kBlocks);
  builder.PlaceBand(counter.triangle(), band[rank], band[rank + 1], carries);
  builder.PlaceBlocks(counter.triangle(), blocks);
  counter.Release();
  step_done(ReduceStats::kPlace);
  std::vector<int> owner(V);
  for (int r = 0; r < size; ++r)
    for (global_int_t i = rows.row_ranges[r]; i < rows.row_ranges[r + 1]; ++i) owner[i] = r;
  builder.PlaceSparse(partial.owned, V, owner);
  partial.owned = {};
  builder.Finish();
  rows.n_pairs = 2 * AllreduceSum(comm, counter.n_pairs());
  step_done(ReduceStats::kSparse);
  if (stats) {
    local.n_band_carries = static_cast<global_int_t>(carries.size());
    local.seconds = MPI_Wtime() - t0;
    *stats = local;
  }
  return rows;
}

void RequireCooccurringPairs(const CooccurrenceRows& counts) {
  if (counts.n_pairs == 0)
    throw Error(
        "the corpus has no co-occurring pairs (every document is a single in-vocabulary token): there is "
        "nothing to factorize or train on (--counts-only still writes the counts)");
}

}  // namespace qwem
