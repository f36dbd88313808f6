// The local kernel of the block eigensolver (no MPI): Y = A X for a block of b columns, with A
// this rank's rows of a sparse matrix. One pass over A serves all b columns, so a column costs
// a fraction of a sparse matrix-vector product (SpMV streams A once per column).
//
// The rows of X that a row of A reads are scattered (its column indices); they stay in the core's
// L2 cache when A is cut into tiles (below) whose slices of X and Y are small, and Y accumulates
// tile after tile.
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

// The bytes of X one panel reads and of Y one band writes: together within a 2 MiB L2, with room
// for A's stream.
inline constexpr std::size_t kPanelBytes = std::size_t{640} << 10;
inline constexpr std::size_t kBandBytes = std::size_t{512} << 10;
// Products summed in single precision before they are added in double (float kernel).
inline constexpr int kFloatRun = 64;
// Consecutive panels are merged until they hold this many entries per row on average.
inline constexpr global_int_t kMinPanelEntriesPerRow = 32;

// This rank's rows of an n_rows x n_cols sparse matrix, cut into tiles: bands of rows whose
// part of Y (kBandBytes) stays in L2 while the band is done, each band cut by column into panels
// whose slice of X (kPanelBytes) stays in L2 too. Panels with few entries per row are merged
// with their neighbours (kMinPanelEntriesPerRow): a panel costs a pass over the band's rows of
// Y, worth it only for enough entries, and the X rows of rare columns (word ids are in frequency
// order) are read too seldom for their cache residence to matter. Tiles are stored band after
// band, panels in column order; each is a CSR of its rows (row_ptr has rows + 1 offsets into cols
// and the values), cols padded at the end so that the kernel may prefetch a few entries ahead.
struct PanelMatrix {
  struct Tile {
    global_int_t row0 = 0, row1 = 0, col0 = 0;
    std::vector<global_int_t> row_ptr;
    std::vector<word_id_t> cols;
    std::vector<float> values_float;    // with_float
    std::vector<double> values_double;  // with_double
  };
  global_int_t n_rows = 0, n_cols = 0, nnz = 0;
  std::vector<Tile> tiles;
  std::size_t bytes() const;
};

// Not collective. Cuts CSR rows (row_ptr over n_rows rows, sorted column indices in cols,
// values) into tiles for blocks of `band_rows` rows and panels of panel_cols columns (merged as
// above), keeping float and/or double copies of the values.
PanelMatrix MakePanelMatrix(global_int_t n_rows, global_int_t n_cols, const global_int_t* row_ptr,
                            const word_id_t* cols, const double* values, global_int_t band_rows,
                            global_int_t panel_cols, bool with_float, bool with_double);

// The band height and panel width for blocks of b columns: kBandBytes of Y (double) per band,
// kPanelBytes of X per panel (X elements of `element_bytes`).
global_int_t BandRows(int b);
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
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept {
    return true;
  }
};
template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T>>;

}  // namespace qwem
