// The reduce phase: the ranks' dense triangles summed band by band (with their carries), rows
// balanced by nonzeros, and every count moved to its row owner's CSR (see cooccurrence.hpp).
#include <algorithm>
#include <cstring>
#include <tuple>

#include "qwem/cooccurrence.hpp"
#include "qwem/exchange.hpp"

namespace qwem {

namespace {

// Triangle rows [band[r], band[r+1]) are summed onto rank r; bands have about equal cell counts.
std::vector<std::uint64_t> Bands(global_int_t dense_words, int size) {
  const auto H = static_cast<std::uint64_t>(dense_words);
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

std::uint64_t BandCells(const std::vector<std::uint64_t>& band, int r) {
  return TriangleCells(band[r + 1]) - TriangleCells(band[r]);
}

// Collective. The pairwise reduce-scatter of the triangle's bands: in step k this rank sends
// band (rank + k) mod P and receives its own band from rank (rank - k) mod P, in pieces of at
// most 8M cells; add(offset, cells, n) consumes each received piece. Written out because Open
// MPI 4.1's MPI_Reduce_scatter ran at about 200 MB/s on a 400 MB triangle between two ranks
// here, and because the sum needs the carries, which MPI's sum would drop.
template <class Add>
void PairwiseBands(MPI_Comm comm, const Cell16* triangle, const std::vector<std::uint64_t>& band, Add&& add) {
  const int rank = CommRank(comm), size = CommSize(comm);
  constexpr std::uint64_t kPiece = std::uint64_t{8} << 20;  // cells
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
    // The last rank r with TriangleCells(band[r]) <= cell.
    int r = 0;
    while (r + 1 < size && TriangleCells(band[r + 1]) <= cell) ++r;
    return r;
  };
  std::vector<std::uint64_t>& counting = counter.carries();
  ExchangeAppend(comm, counting.data(), counting.size(), band_of, carries);
  counting = {};
  std::sort(carries.begin(), carries.end());
  return carries;
}

// A count on its way to its row owner.
struct Cell {
  std::uint32_t row, col;
  global_int_t count;
};

// The nonzeros of C = X + X^T held by this rank after the band sums: its band of the triangle
// (in ascending hi, so each row's columns come out sorted), then its sparse entries.
struct HeldCounts {
  const Cell16* triangle;
  std::uint64_t band_begin, band_end;  // triangle rows
  const std::vector<std::uint64_t>& carries;
  const big_vector<SparseEntry>& owned;
  std::uint64_t n_words;

  // fn(row, col, count) for every nonzero of C held here.
  template <class Fn>
  void ForEach(Fn&& fn) const {
    auto both = [&](std::uint64_t lo, std::uint64_t hi, global_int_t c) {
      if (lo == hi) {
        fn(hi, lo, 2 * c);  // C = X + X^T doubles the diagonal
      } else {
        fn(hi, lo, c);
        fn(lo, hi, c);
      }
    };
    auto carry = carries.cbegin();
    for (std::uint64_t h = band_begin, cell = TriangleCells(band_begin); h < band_end; ++h)
      for (std::uint64_t lo = 0; lo <= h; ++lo, ++cell) {
        global_int_t c = triangle[cell];
        for (; carry != carries.cend() && *carry == cell; ++carry) c += 65536;
        if (c != 0) both(lo, h, c);
      }
    for (const SparseEntry& e : owned) both(e.key / n_words, e.key % n_words, e.count);
  }
};

// Collective. Balances row ownership by nonzeros and moves every held count to its row owner,
// which builds its CSR rows. Cells for this rank's own rows skip the exchange.
CooccurrenceRows BuildRows(MPI_Comm comm, const HeldCounts& held, PartialCounts& partial) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const std::uint64_t V = held.n_words;

  // Nonzeros per row: this rank's, their sum over ranks (which sizes the CSR rows and balances
  // contiguous row ranges by nonzeros), and the part from lower ranks (MPI_Exscan, which says
  // where this rank's cells go inside each row).
  CooccurrenceRows rows;
  rows.n_words = static_cast<global_int_t>(V);
  rows.window = partial.counter.window();
  std::vector<global_int_t> local_nnz(V, 0), global_nnz(V, 0), before_nnz(V, 0);
  held.ForEach([&](std::uint64_t row, std::uint64_t, global_int_t) { ++local_nnz[row]; });
  QWEM_MPI(MPI_Allreduce(local_nnz.data(), global_nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm));
  QWEM_MPI(MPI_Exscan(local_nnz.data(), before_nnz.data(), static_cast<int>(V), MPI_INT64_T, MPI_SUM, comm));
  if (rank == 0) std::fill(before_nnz.begin(), before_nnz.end(), 0);  // Exscan leaves rank 0's undefined
  for (auto c : global_nnz) rows.nnz += c;
  rows.row_ranges = BalanceRows(global_nnz, size);
  rows.row_begin = rows.row_ranges[rank];
  rows.row_end = rows.row_ranges[rank + 1];
  const auto n_local = static_cast<std::size_t>(rows.n_local_rows());
  rows.row_ptr.assign(n_local + 1, 0);
  for (std::size_t r = 0; r < n_local; ++r) rows.row_ptr[r + 1] = rows.row_ptr[r] + global_nnz[rows.row_begin + r];
  rows.cols.resize(static_cast<std::size_t>(rows.row_ptr[n_local]));
  rows.values.resize(rows.cols.size());
  std::vector<int> owner(V);
  std::vector<std::size_t> send_displs(size + 1, 0);
  for (int r = 0; r < size; ++r)
    for (global_int_t i = rows.row_ranges[r]; i < rows.row_ranges[r + 1]; ++i) {
      owner[i] = r;
      if (r != rank) send_displs[r + 1] += static_cast<std::size_t>(local_nnz[i]) * sizeof(Cell);
    }
  for (int r = 0; r < size; ++r) send_displs[r + 1] += send_displs[r];

  // One pass: cells of other ranks' rows into the send buffer, cells of own rows straight into
  // the CSR after those of lower ranks. Every source emits a row's columns in ascending order and
  // sources come in rank order, so rows come out sorted (rows fed by the sparse part are checked
  // and sorted below).
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
    std::vector<std::size_t> fill(size);
    for (int r = 0; r < size; ++r) fill[r] = send_displs[r] / sizeof(Cell);
    held.ForEach([&](std::uint64_t row, std::uint64_t col, global_int_t c) {
      const int o = owner[row];
      if (o == rank)
        place(own_next, row, col, c);
      else
        send[fill[o]++] = Cell{static_cast<std::uint32_t>(row), static_cast<std::uint32_t>(col), c};
    });
    partial.counter.Release();
    partial.owned = {};
    got = ExchangeBytes(comm, reinterpret_cast<const char*>(send.data()), send_displs, recv_displs);
  }
  for (int from = 0; from < size; ++from) {
    auto& next = from < rank ? low_next : high_next;
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
  return rows;
}

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
  PartialCounts partial = std::move(counts);
  PairCounter& counter = partial.counter;
  const auto V = static_cast<std::uint64_t>(counter.n_words());
  counter.sparse() = {};

  // 1. The band sums, in place in this rank's band of the triangle, with their carries.
  const int rank = CommRank(comm);
  const std::vector<std::uint64_t> band = Bands(counter.dense_words(), CommSize(comm));
  const std::vector<std::uint64_t> carries = SumBand(comm, counter, band);
  {
    big_vector<SparseEntry> scratch;
    SortAndCombine(partial.owned, V * V, scratch);
  }

  // 2. Every held count to its row owner, as CSR.
  const HeldCounts held{counter.triangle(), band[rank], band[rank + 1], carries, partial.owned, V};
  CooccurrenceRows rows = BuildRows(comm, held, partial);
  rows.n_pairs = 2 * AllreduceSum(comm, counter.n_pairs());
  if (stats) {
    stats->n_band_carries = static_cast<global_int_t>(carries.size());
    stats->seconds = MPI_Wtime() - t0;
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
