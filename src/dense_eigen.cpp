#include "qwem/dense_eigen.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "qwem/eigen.hpp"
#include "qwem/exchange.hpp"

extern "C" {
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int* context, const char* order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int* nprow, int* npcol, int* myrow, int* mycol);
void Cblacs_gridexit(int context);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc, const int* icsrc,
               const int* ictxt, const int* lld, int* info);
void pdsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* ia,
              const int* ja, const int* desca, const double* vl, const double* vu, const int* il, const int* iu, int* m,
              int* nz, double* w, double* z, const int* iz, const int* jz, const int* descz, double* work,
              const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace qwem {

namespace {

// The block-cyclic block size: ScaLAPACK's usual 64 (smaller for tiny matrices).
int BlockSize(global_int_t V) { return V >= 1024 ? 64 : 16; }

// A near-square process grid, rows >= columns.
std::pair<int, int> Grid(int size) {
  int cols = static_cast<int>(std::sqrt(static_cast<double>(size)));
  while (size % cols != 0) --cols;
  return {size / cols, cols};
}

// The BLACS grid on `comm` and the block-cyclic layout of an n x n matrix over it.
class BlockCyclic {
 public:
  BlockCyclic(MPI_Comm comm, int n) : n_(n), nb_(BlockSize(n)) {
    const auto [rows, cols] = Grid(CommSize(comm));
    system_ = Csys2blacs_handle(comm);
    context_ = system_;
    Cblacs_gridinit(&context_, "Row", rows, cols);
    Cblacs_gridinfo(context_, &nprow_, &npcol_, &myrow_, &mycol_);
    const int zero = 0;
    local_rows_ = numroc_(&n_, &nb_, &myrow_, &zero, &nprow_);
    local_cols_ = numroc_(&n_, &nb_, &mycol_, &zero, &npcol_);
    lld_ = std::max(1, local_rows_);
    int info = 0;
    descinit_(desc_, &n_, &n_, &nb_, &nb_, &zero, &zero, &context_, &lld_, &info);
    if (info != 0) throw std::runtime_error("descinit failed (info " + std::to_string(info) + ")");
  }
  ~BlockCyclic() {
    Cblacs_gridexit(context_);
    Cfree_blacs_system_handle(system_);
  }
  BlockCyclic(const BlockCyclic&) = delete;
  BlockCyclic& operator=(const BlockCyclic&) = delete;

  // The process (in the grid's row-major numbering, which is the rank in comm) holding (i, j).
  int Owner(global_int_t i, global_int_t j) const {
    return static_cast<int>((i / nb_) % nprow_) * npcol_ + static_cast<int>((j / nb_) % npcol_);
  }
  // Local index of a global row (held by this process row) or column.
  std::size_t LocalRow(global_int_t i) const { return static_cast<std::size_t>((i / (nb_ * nprow_)) * nb_ + i % nb_); }
  std::size_t LocalCol(global_int_t j) const { return static_cast<std::size_t>((j / (nb_ * npcol_)) * nb_ + j % nb_); }
  // Global index of a local row or column of process row / column p.
  global_int_t GlobalRow(int li, int p) const { return (li / nb_) * nb_ * nprow_ + p * nb_ + li % nb_; }
  global_int_t GlobalCol(int lj, int p) const { return (lj / nb_) * nb_ * npcol_ + p * nb_ + lj % nb_; }
  std::size_t LocalSize() const { return static_cast<std::size_t>(lld_) * std::max(1, local_cols_); }
  // Rows (count) a process row holds.
  int RowsOf(int p) const {
    const int zero = 0;
    return numroc_(&n_, &nb_, &p, &zero, &nprow_);
  }
  int ColsOf(int p) const {
    const int zero = 0;
    return numroc_(&n_, &nb_, &p, &zero, &npcol_);
  }

  int n_, nb_, system_ = 0, context_ = 0, nprow_ = 0, npcol_ = 0, myrow_ = 0, mycol_ = 0;
  int local_rows_ = 0, local_cols_ = 0, lld_ = 1;
  int desc_[9] = {};
};

// An entry of S on its way to the process that holds it in the block-cyclic copy.
struct Entry {
  std::int32_t i, j;
  double value;
};

}  // namespace

double DenseEigenBytesPerRank(global_int_t V, int ranks, bool vectors) {
  // Measured at V = 10k on 2 ranks (share/bench/many_eigenpairs.sh): peak RSS grew by about 5
  // and 6.5 times the matrix's 8 V^2 / P bytes (pdsyevr's workspace query asks for its optimal,
  // not its minimal, work space).
  const double matrix = 8.0 * static_cast<double>(V) * static_cast<double>(V) / ranks;
  return matrix * (vectors ? 6.5 : 5.0) + 64.0 * static_cast<double>(V);
}

DenseEigenpairs SolveDense(MPI_Comm comm, const Target& target, int d) {
  const CooccurrenceRows& p = *target.pattern;
  if (p.n_words > (global_int_t{1} << 31) - 1) throw Error("the dense eigensolver needs V < 2^31");
  const int n = static_cast<int>(p.n_words);
  const BlockCyclic grid(comm, n);

  // The matrix: c everywhere, plus S's stored entries of the lower triangle, each sent once.
  std::vector<double> A(grid.LocalSize(), target.rank_one);
  {
    global_int_t r = 0;  // the local row of stored entry k (StreamToOwners visits k in order)
    StreamToOwners<Entry>(
        comm, static_cast<std::size_t>(p.row_ptr[p.n_local_rows()] - p.row_ptr[0]), 1,
        [&](std::size_t index, auto&& emit) {
          const global_int_t k = p.row_ptr[0] + static_cast<global_int_t>(index);
          while (p.row_ptr[r + 1] <= k) ++r;
          const auto i = static_cast<std::int32_t>(p.row_begin + r);
          if (i >= p.cols[k]) emit(grid.Owner(i, p.cols[k]), Entry{i, p.cols[k], target.values[k]});
        },
        [&](const Entry& e) { A[grid.LocalRow(e.i) + grid.LocalCol(e.j) * grid.lld_] += e.value; });
  }

  // pdsyevr: a workspace query, then the solve.
  const bool vectors = d > 0;
  std::vector<double> Z(vectors ? grid.LocalSize() : 1);
  std::vector<double> w(n);
  const int one = 1, il = vectors ? n - d + 1 : 1, iu = n;
  const double vl = 0, vu = 0;
  int m = 0, nz = 0, info = 0, lwork = -1, liwork = -1, iquery = 0;
  double query = 0;
  const char* jobz = vectors ? "V" : "N";
  const char* range = vectors ? "I" : "A";
  pdsyevr_(jobz, range, "L", &n, A.data(), &one, &one, grid.desc_, &vl, &vu, &il, &iu, &m, &nz, w.data(), Z.data(),
           &one, &one, grid.desc_, &query, &lwork, &iquery, &liwork, &info);
  lwork = static_cast<int>(query) + 1;
  liwork = iquery;
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  pdsyevr_(jobz, range, "L", &n, A.data(), &one, &one, grid.desc_, &vl, &vu, &il, &iu, &m, &nz, w.data(), Z.data(),
           &one, &one, grid.desc_, work.data(), &lwork, iwork.data(), &liwork, &info);
  AgreeOrThrow(comm, info == 0, "ScaLAPACK's pdsyevr failed (info " + std::to_string(info) + ")");
  A = {};

  DenseEigenpairs result;
  result.grid_rows = grid.nprow_;
  result.grid_cols = grid.npcol_;
  result.block = grid.nb_;
  result.eigenvalues.assign(w.rbegin() + (n - m), w.rend());  // descending
  if (!vectors) return result;

  // Eigenvector k (descending) is Z's column m - 1 - k. Each process sends every destination
  // rank the entries of its local rows that fall in the destination's rows, column by column;
  // both sides know the layout, so only values travel.
  const int size = CommSize(comm);
  const std::vector<global_int_t>& rows = p.row_ranges;
  std::vector<int> local_cols;  // my local columns among Z's first m, in local order
  for (int lj = 0; lj < grid.local_cols_; ++lj)
    if (grid.GlobalCol(lj, grid.mycol_) < m) local_cols.push_back(lj);
  std::vector<std::size_t> send_displs(size + 1, 0);
  std::vector<double> send;
  for (int r = 0; r < size; ++r) {
    for (int lj : local_cols)
      for (int li = 0; li < grid.local_rows_; ++li) {
        const global_int_t i = grid.GlobalRow(li, grid.myrow_);
        if (i >= rows[r] && i < rows[r + 1]) send.push_back(Z[li + static_cast<std::size_t>(lj) * grid.lld_]);
      }
    send_displs[r + 1] = send.size() * sizeof(double);
  }
  Z = {};
  std::vector<std::size_t> recv_displs;
  const big_vector<char> got =
      ExchangeBytes(comm, reinterpret_cast<const char*>(send.data()), send_displs, recv_displs);
  const global_int_t my_rows = p.n_local_rows();
  result.vectors.assign(static_cast<std::size_t>(my_rows) * d, 0.0);
  for (int src = 0; src < size; ++src) {
    // The same order as the sender's: its local columns (< m), then its local rows in my range.
    const int prow = src / grid.npcol_, pcol = src % grid.npcol_;
    std::size_t at = recv_displs[src];
    for (int lj = 0; lj < grid.ColsOf(pcol); ++lj) {
      const global_int_t j = grid.GlobalCol(lj, pcol);
      if (j >= m) continue;
      const int k = m - 1 - static_cast<int>(j);
      for (int li = 0; li < grid.RowsOf(prow); ++li) {
        const global_int_t i = grid.GlobalRow(li, prow);
        if (i < p.row_begin || i >= p.row_end) continue;
        double v;
        std::memcpy(&v, got.data() + at, sizeof v);
        at += sizeof v;
        result.vectors[static_cast<std::size_t>(i - p.row_begin) * d + k] = v;
      }
    }
  }
  NormalizeSigns(comm, p.row_begin, my_rows, d, result.vectors.data());
  return result;
}

}  // namespace qwem
