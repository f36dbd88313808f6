// The operator of the block eigensolver (block_lanczos.hpp): Y = A X for a block of b columns of
// the symmetric V x V target A = S + c 1 1^T, distributed by rows like the counts.
//
// The blocks X and Y are laid out evenly by rows (EvenRanges), which balances the solver's
// dense work (Gram-Schmidt, rotations: proportional to rows); the matrix keeps the counts'
// layout, balanced by nonzeros (the product's work). Per block, one MPI_Allgatherv gives every
// rank all of X (V x b, in the precision of the product), each rank multiplies its matrix rows,
// and one MPI_Alltoallv moves the rows of Y to the even layout:
//  * sparse: S's entries on the counts' pattern, split into column panels (block_kernel.hpp),
//    plus c 1 (1^T X) with 1^T X summed from the gathered X (no further message);
//  * dense: the explicit rows of S + c 1 1^T, by one dgemm (double only).
// The sparse/dense choice (ChooseOperator) is a cost model, not a timing, so the same input always
// gives the same operator and the same eigenpairs.
#pragma once

#include <mpi.h>

#include <vector>

#include "qwem/block_kernel.hpp"
#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/exchange.hpp"
#include "qwem/options.hpp"
#include "qwem/target.hpp"

namespace qwem {

// The arithmetic of a product: single (float values and X, see block_kernel.hpp) or double.
enum class Precision { kSingle, kDouble };

// The cost model of a column product: seconds per stored nonzero (sparse) and per matrix entry
// (dense) on one core. Only the ratio matters: it decides between the sparse and the dense
// operator, the same way on every run (a timing would not).
struct OperatorCosts {
  double sparse_per_nonzero, dense_per_entry;
};
// Measured on this project's machine (Xeon with AVX-512, OpenBLAS with its SkylakeX kernels;
// share/bench/block_kernel.sh): the block kernels (block of 64) against dgemm.
inline constexpr OperatorCosts kBlockSingleCosts{0.038e-9, 0.048e-9};
inline constexpr OperatorCosts kBlockDoubleCosts{0.076e-9, 0.048e-9};
// SLEPc's one column at a time: memory bound, 12 bytes per nonzero (MatMult) against 8 per entry.
inline constexpr OperatorCosts kSpmvCosts{12.0, 8.0};

struct OperatorChoice {
  OperatorKind requested = OperatorKind::kAuto, chosen = OperatorKind::kSparse;
  double sparse_cost = 0, dense_cost = 0;  // modelled cost of a column product (slowest rank)
  std::string reason;                      // why auto chose what it chose
};

// Collective. The operator for --operator `requested` (auto: the cheaper by `costs`, where the
// dense matrix fits: V <= kDenseMaxWords), from the largest rank's nonzeros and rows.
OperatorChoice ChooseOperator(MPI_Comm comm, const CooccurrenceRows& pattern, OperatorKind requested,
                              const OperatorCosts& costs);

class BlockOperator {
 public:
  // Collective. The operator of `target` on `comm` (matrix rows laid out like target's pattern),
  // for blocks of b columns (a SupportedBlockWidth): sparse with the float and/or double values
  // the precisions need, or dense.
  BlockOperator(MPI_Comm comm, const Target& target, OperatorKind kind, int b, bool single, bool dbl);

  // Collective. Y = A X for this rank's rows of the block layout: X and Y are n_local() x b,
  // column-major with leading dimensions ldx and ldy. A dense operator always computes in double.
  void Apply(const double* X, int ldx, double* Y, int ldy, Precision precision);

  // The blocks' layout: this rank's rows [row_begin(), row_begin() + n_local()) of layout().
  global_int_t n_local() const { return layout_[rank_ + 1] - layout_[rank_]; }
  global_int_t n_global() const { return n_global_; }
  global_int_t row_begin() const { return layout_[rank_]; }
  const std::vector<global_int_t>& layout() const { return layout_; }
  int block() const { return b_; }
  OperatorKind kind() const { return kind_; }
  // Column products so far (b per Apply), and of them in double; seconds inside Apply.
  global_int_t products() const { return products_; }
  global_int_t double_products() const { return double_products_; }
  double seconds() const { return seconds_; }
  std::size_t bytes() const;  // the operator's own memory on this rank

 private:
  template <class T>
  void Gather(const double* X, int ldx, aligned_vector<T>* full);
  template <class T>
  void MultiplyLocal(const aligned_vector<T>& full, std::vector<double>* Y_rows);

  MPI_Comm comm_;
  int rank_;
  OperatorKind kind_;
  int b_;
  global_int_t n_global_;
  std::vector<global_int_t> layout_, matrix_rows_;  // even ranges; the pattern's ranges
  double rank_one_;
  std::vector<int> gather_counts_, gather_displs_;  // elements of X per rank (rows x b)
  PanelMatrix sparse_;                              // sparse
  std::vector<double> dense_;                       // dense: V x matrix rows, column j = row j of them
  aligned_vector<float> full_float_;
  aligned_vector<double> full_double_;
  std::vector<double> y_rows_;
  global_int_t products_ = 0, double_products_ = 0;
  double seconds_ = 0;
};

}  // namespace qwem
