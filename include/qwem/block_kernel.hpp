// The local kernel of the block eigensolver (no MPI): Y = A X for a block of b columns, with A
// this rank's rows of a sparse matrix. One pass over A serves all b columns, so a column costs
// a fraction of a sparse matrix-vector product (SpMV streams A once per column).
//
// The rows of X that a row of A reads are scattered (its column indices); they stay in the core's
// L2 cache when A is split by column into panels whose slice of X is small (kPanelBytes): each
// panel is a CSR over all local rows, and Y accumulates panel after panel.
//
// Two precisions:
//  * float  : A's values and X in single precision, each run of up to kFloatRun products summed
//             in single precision, the runs summed in double (relative error about 1e-7: for
//             tolerances of 1e-5 and above, see block_lanczos.hpp);
//  * double : values, X and sums in double.
// MultiplyBlockReference is the plain-loop twin of both, the tests' oracle.
#pragma once

#include <cstddef>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// Block widths the kernels are built for (a multiple of 16 up to 64).
inline constexpr int kBlockWidths[] = {16, 32, 48, 64};
bool SupportedBlockWidth(int b);

// The bytes of X one panel reads: half of a 2 MiB L2, leaving room for A's stream and Y.
inline constexpr std::size_t kPanelBytes = std::size_t{640} << 10;
// Products summed in single precision before they are added in double (float kernel).
inline constexpr int kFloatRun = 64;

// This rank's rows of an n_rows x n_cols sparse matrix, split by column into panels. Panel p
// holds the entries with column in [panel_begin[p], panel_begin[p+1]) as CSR over all rows
// (row_ptr[p] has n_rows + 1 offsets into cols[p] and the values); cols are padded at the end so
// that the kernel may prefetch a few entries ahead.
struct PanelMatrix {
  global_int_t n_rows = 0, n_cols = 0, nnz = 0;
  std::vector<global_int_t> panel_begin;
  std::vector<std::vector<global_int_t>> row_ptr;
  std::vector<std::vector<word_id_t>> cols;
  std::vector<std::vector<float>> values_float;    // with_float
  std::vector<std::vector<double>> values_double;  // with_double
  std::size_t bytes() const;
};

// Not collective. Splits CSR rows (row_ptr over n_rows rows, sorted column indices in cols,
// values) into panels of panel_cols columns, keeping float and/or double copies of the values.
PanelMatrix MakePanelMatrix(global_int_t n_rows, global_int_t n_cols, const global_int_t* row_ptr,
                            const word_id_t* cols, const double* values, global_int_t panel_cols, bool with_float,
                            bool with_double);

// The panel width for blocks of b columns of `element_bytes` each: kPanelBytes of X per panel.
global_int_t PanelColumns(int b, std::size_t element_bytes);

// Not collective. Y = A X: X is n_cols x b, row-major (row i of X at X + i b), Y is n_rows x b,
// row-major. b must be a SupportedBlockWidth; X must be 64-byte aligned. The float version needs
// values_float, the double one values_double.
void MultiplyBlock(const PanelMatrix& A, const float* X, int b, double* Y);
void MultiplyBlock(const PanelMatrix& A, const double* X, int b, double* Y);
// The same product by plain loops in double (any b), from whichever values A holds.
void MultiplyBlockReference(const PanelMatrix& A, const double* X, int b, double* Y);

// 64-byte aligned storage for the kernels' X blocks.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept {
    return true;
  }
};
template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T>>;

}  // namespace qwem
