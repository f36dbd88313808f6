#include "qwem/block_operator.hpp"

#include <algorithm>

#include "qwem/blas.hpp"
#include "qwem/format.hpp"

namespace qwem {

namespace {

// fn(i0, i1) over rows [0, n) in chunks of 64: transposes between row-major blocks and
// column-major ones touch each cache line once per chunk, not once per column.
template <class Fn>
void ForRowChunks(global_int_t n, Fn&& fn) {
  constexpr global_int_t kChunk = 64;
  for (global_int_t i0 = 0; i0 < n; i0 += kChunk) fn(i0, std::min(n, i0 + kChunk));
}

}  // namespace

OperatorChoice ChooseOperator(MPI_Comm comm, const CooccurrenceRows& pattern, OperatorKind requested,
                              const OperatorCosts& costs) {
  OperatorChoice choice;
  choice.requested = requested;
  // The slowest rank sets the pace: the largest local nonzeros and rows.
  const double nnz = AllreduceMax(comm, static_cast<double>(pattern.n_local_nnz()));
  const double rows = AllreduceMax(comm, static_cast<double>(pattern.n_local_rows()));
  const auto V = static_cast<double>(pattern.n_words);
  choice.sparse_cost = nnz * costs.sparse_per_nonzero;
  choice.dense_cost = rows * V * costs.dense_per_entry;
  if (requested != OperatorKind::kAuto) {
    choice.chosen = requested;
    choice.reason = "requested";
  } else if (pattern.n_words > kDenseMaxWords) {
    choice.chosen = OperatorKind::kSparse;
    choice.reason = "V > " + std::to_string(kDenseMaxWords) + ": the dense matrix is not built";
  } else {
    choice.chosen = choice.dense_cost < choice.sparse_cost ? OperatorKind::kDense : OperatorKind::kSparse;
    choice.reason = Format("cost model: dense %.2fx sparse", choice.dense_cost / choice.sparse_cost);
  }
  return choice;
}

BlockOperator::BlockOperator(MPI_Comm comm, const Target& target, OperatorKind kind, int b, bool single, bool dbl)
    : comm_(comm),
      rank_(CommRank(comm)),
      kind_(kind),
      b_(b),
      n_global_(target.pattern->n_words),
      layout_(EvenRanges(target.pattern->n_words, CommSize(comm))),
      matrix_rows_(target.pattern->row_ranges),
      rank_one_(target.rank_one) {
  if (!SupportedBlockWidth(b)) throw Error("block size " + std::to_string(b) + " is not one of 16, 32, 48, 64");
  const CooccurrenceRows& p = *target.pattern;
  const int size = CommSize(comm);
  gather_counts_.resize(size);
  gather_displs_.resize(size);
  for (int r = 0; r < size; ++r) {
    gather_counts_[r] = static_cast<int>((layout_[r + 1] - layout_[r]) * b);
    gather_displs_[r] = static_cast<int>(layout_[r] * b);
  }
  const global_int_t rows = p.n_local_rows(), V = n_global_;
  if (kind == OperatorKind::kDense) {
    dense_.assign(static_cast<std::size_t>(V) * rows, rank_one_);
    for (global_int_t r = 0; r < rows; ++r)
      for (global_int_t k = p.row_ptr[r]; k < p.row_ptr[r + 1]; ++k)
        dense_[static_cast<std::size_t>(r) * V + p.cols[k]] += target.values[k];
  } else {
    // Panels sized for the float X when single precision is used (double X then reads a slice
    // twice as large, still within L2).
    sparse_ = MakePanelMatrix(rows, V, p.row_ptr.data(), p.cols.data(), target.values.data(), BandRows(b),
                              PanelColumns(b, single ? sizeof(float) : sizeof(double)), single, dbl);
  }
  y_rows_.resize(static_cast<std::size_t>(rows) * b);
}

std::size_t BlockOperator::bytes() const {
  return sparse_.bytes() + dense_.size() * sizeof(double) + full_float_.capacity() * sizeof(float) +
         full_double_.capacity() * sizeof(double) + y_rows_.size() * sizeof(double);
}

template <class T>
void BlockOperator::Gather(const double* X, int ldx, aligned_vector<T>* full) {
  const global_int_t n = n_local();
  full->resize(static_cast<std::size_t>(n_global_) * b_);
  // This rank's rows, row-major, in place at their offset of the full block, then gathered.
  T* mine = full->data() + static_cast<std::size_t>(row_begin()) * b_;
  ForRowChunks(n, [&](global_int_t i0, global_int_t i1) {  // a cache-blocked transpose
    for (int c = 0; c < b_; ++c)
      for (global_int_t i = i0; i < i1; ++i)
        mine[i * b_ + c] = static_cast<T>(X[i + static_cast<std::size_t>(c) * ldx]);
  });
  const MPI_Datatype type = sizeof(T) == sizeof(float) ? MPI_FLOAT : MPI_DOUBLE;
  QWEM_MPI(
      MPI_Allgatherv(MPI_IN_PLACE, 0, type, full->data(), gather_counts_.data(), gather_displs_.data(), type, comm_));
}

template <class T>
void BlockOperator::MultiplyLocal(const aligned_vector<T>& full, std::vector<double>* Y_rows) {
  const global_int_t n = matrix_rows_[rank_ + 1] - matrix_rows_[rank_];
  if (kind_ == OperatorKind::kDense) {
    // Y^T (b x n) = X^T (b x V, the row-major X) * D (V x n): rows of Y come out row-major.
    const int m = b_, nn = static_cast<int>(n), k = static_cast<int>(n_global_);
    const double one = 1, zero = 0;
    if (nn > 0)
      dgemm_("N", "N", &m, &nn, &k, &one, reinterpret_cast<const double*>(full.data()), &m, dense_.data(), &k, &zero,
             Y_rows->data(), &m);
    return;
  }
  MultiplyBlock(sparse_, full.data(), b_, Y_rows->data());
  if (rank_one_ != 0) {
    // c 1 (1^T X): every rank sums the same gathered X in the same order.
    std::vector<double> colsum(b_, 0.0);
    for (global_int_t i = 0; i < n_global_; ++i)
      for (int c = 0; c < b_; ++c) colsum[c] += full[static_cast<std::size_t>(i) * b_ + c];
    for (global_int_t i = 0; i < n; ++i)
      for (int c = 0; c < b_; ++c) (*Y_rows)[static_cast<std::size_t>(i) * b_ + c] += rank_one_ * colsum[c];
  }
}

void BlockOperator::Apply(const double* X, int ldx, double* Y, int ldy, Precision precision) {
  const double t0 = MPI_Wtime();
  const bool single = precision == Precision::kSingle && kind_ == OperatorKind::kSparse;
  if (single) {
    Gather(X, ldx, &full_float_);
    MultiplyLocal(full_float_, &y_rows_);
  } else {
    Gather(X, ldx, &full_double_);
    MultiplyLocal(full_double_, &y_rows_);
    double_products_ += b_;
  }
  // The matrix rows' results to the blocks' layout, then column-major.
  const std::vector<double> mine = RedistributeRows(comm_, matrix_rows_, layout_, y_rows_.data(), b_);
  const global_int_t n = n_local();
  ForRowChunks(n, [&](global_int_t i0, global_int_t i1) {
    for (int c = 0; c < b_; ++c)
      for (global_int_t i = i0; i < i1; ++i)
        Y[i + static_cast<std::size_t>(c) * ldy] = mine[static_cast<std::size_t>(i) * b_ + c];
  });
  products_ += b_;
  seconds_ += MPI_Wtime() - t0;
}

}  // namespace qwem
