#include "qwem/block_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace qwem {

namespace {

// 16 floats and 8 doubles: one AVX-512 register (two AVX2 registers, four SSE ones: GCC's vector
// extensions let the same code build for any target, QWEM_SIMD_FLAGS choosing the width).
typedef float f16 __attribute__((vector_size(64)));
typedef double d8 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));

// Entries the kernels prefetch ahead (the padding at the end of each panel's cols).
constexpr int kPrefetch = 8;

inline f16 LoadF16(const float* p) {
  f16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline d8 LoadD8(const double* p) {
  d8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreD8(double* p, d8 v) { std::memcpy(p, &v, sizeof v); }
inline d8 Widen(f8 v) { return __builtin_convertvector(v, d8); }
inline f8 Low(f16 v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); }
inline f8 High(f16 v) { return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15); }

// Y (+)= panel * X, float values and X, runs of kFloatRun products summed in float, in double
// across runs. R = b / 16 registers of 16 columns.
template <int R>
void Panel(std::size_t n_rows, const global_int_t* row_ptr, const word_id_t* cols, const float* values, const float* X,
           double* Y, bool add) {
  constexpr int b = 16 * R;
  for (std::size_t r = 0; r < n_rows; ++r) {
    double* y = Y + r * b;
    d8 acc[2 * R];
    for (int c = 0; c < 2 * R; ++c) acc[c] = add ? LoadD8(y + 8 * c) : d8{};
    global_int_t k = row_ptr[r];
    const global_int_t end = row_ptr[r + 1];
    while (k < end) {
      const global_int_t run_end = std::min(end, k + kFloatRun);
      f16 sum[R];
      for (int c = 0; c < R; ++c) sum[c] = f16{};
      for (; k < run_end; ++k) {
        const float* ahead = X + static_cast<std::size_t>(cols[k + kPrefetch]) * b;
        for (int c = 0; c < R; ++c) __builtin_prefetch(ahead + 16 * c);
        const float* x = X + static_cast<std::size_t>(cols[k]) * b;
        const float v = values[k];
        for (int c = 0; c < R; ++c) sum[c] += v * LoadF16(x + 16 * c);
      }
      for (int c = 0; c < R; ++c) {
        acc[2 * c] += Widen(Low(sum[c]));
        acc[2 * c + 1] += Widen(High(sum[c]));
      }
    }
    for (int c = 0; c < 2 * R; ++c) StoreD8(y + 8 * c, acc[c]);
  }
}

// Y (+)= panel * X in double. R = b / 16.
template <int R>
void Panel(std::size_t n_rows, const global_int_t* row_ptr, const word_id_t* cols, const double* values,
           const double* X, double* Y, bool add) {
  constexpr int b = 16 * R;
  for (std::size_t r = 0; r < n_rows; ++r) {
    double* y = Y + r * b;
    d8 acc[2 * R];
    for (int c = 0; c < 2 * R; ++c) acc[c] = add ? LoadD8(y + 8 * c) : d8{};
    const global_int_t end = row_ptr[r + 1];
    for (global_int_t k = row_ptr[r]; k < end; ++k) {
      const double* ahead = X + static_cast<std::size_t>(cols[k + kPrefetch]) * b;
      for (int c = 0; c < 2 * R; ++c) __builtin_prefetch(ahead + 8 * c);
      const double* x = X + static_cast<std::size_t>(cols[k]) * b;
      const double v = values[k];
      for (int c = 0; c < 2 * R; ++c) acc[c] += v * LoadD8(x + 8 * c);
    }
    for (int c = 0; c < 2 * R; ++c) StoreD8(y + 8 * c, acc[c]);
  }
}

// kernel(tile, X, Y + row0 b, add) for every tile; the first tile of a band sets its rows of Y.
template <class X, class Kernel>
void ForEachTile(const PanelMatrix& A, const X* x, int b, double* Y, Kernel kernel) {
  if (A.tiles.empty()) std::fill(Y, Y + static_cast<std::size_t>(A.n_rows) * b, 0.0);
  for (const PanelMatrix::Tile& t : A.tiles) kernel(t, x, Y + static_cast<std::size_t>(t.row0) * b, t.col0 > 0);
}

// A tile's values in X's precision.
const float* TileValues(const PanelMatrix::Tile& t, const float*) { return t.values_float.data(); }
const double* TileValues(const PanelMatrix::Tile& t, const double*) { return t.values_double.data(); }

// Y = A X by the panel kernel of b's width, in X's precision.
template <class T>
void MultiplyTiles(const PanelMatrix& A, const T* X, int b, double* Y) {
  ForEachTile(A, X, b, Y, [&](const PanelMatrix::Tile& t, const T* x, double* y, bool add) {
    const auto n = static_cast<std::size_t>(t.row1 - t.row0);
    const global_int_t* ptr = t.row_ptr.data();
    const word_id_t* cols = t.cols.data();
    const T* v = TileValues(t, x);
    switch (b) {
      case 16:
        return Panel<1>(n, ptr, cols, v, x, y, add);
      case 32:
        return Panel<2>(n, ptr, cols, v, x, y, add);
      case 48:
        return Panel<3>(n, ptr, cols, v, x, y, add);
      case 64:
        return Panel<4>(n, ptr, cols, v, x, y, add);
    }
    throw std::invalid_argument("MultiplyBlock: unsupported block width " + std::to_string(b));
  });
}

}  // namespace

bool SupportedBlockWidth(int b) {
  return std::find(std::begin(kBlockWidths), std::end(kBlockWidths), b) != std::end(kBlockWidths);
}

std::size_t PanelMatrix::bytes() const {
  std::size_t total = 0;
  for (const Tile& t : tiles)
    total += t.row_ptr.size() * sizeof(global_int_t) + t.cols.size() * sizeof(word_id_t) +
             t.values_float.size() * sizeof(float) + t.values_double.size() * sizeof(double);
  return total;
}

global_int_t BandRows(int b) {
  return std::max<global_int_t>(1,
                                static_cast<global_int_t>(kBandBytes / (static_cast<std::size_t>(b) * sizeof(double))));
}

global_int_t PanelColumns(int b, std::size_t element_bytes) {
  return std::max<global_int_t>(1,
                                static_cast<global_int_t>(kPanelBytes / (static_cast<std::size_t>(b) * element_bytes)));
}

PanelMatrix MakePanelMatrix(global_int_t n_rows, global_int_t n_cols, const global_int_t* row_ptr,
                            const word_id_t* cols, const double* values, global_int_t band_rows,
                            global_int_t panel_cols, bool with_float, bool with_double) {
  PanelMatrix A;
  A.n_rows = n_rows;
  A.n_cols = n_cols;
  A.nnz = row_ptr[n_rows] - row_ptr[0];
  const global_int_t chunks = (n_cols + panel_cols - 1) / panel_cols;
  std::vector<global_int_t> chunk_nnz(chunks);
  std::vector<std::size_t> panel_of(chunks);
  for (global_int_t r0 = 0; r0 < n_rows; r0 += band_rows) {
    const global_int_t r1 = std::min(n_rows, r0 + band_rows), rows = r1 - r0;
    // The band's panels: chunks of panel_cols columns, merged until one holds enough entries.
    std::fill(chunk_nnz.begin(), chunk_nnz.end(), 0);
    for (global_int_t k = row_ptr[r0]; k < row_ptr[r1]; ++k) ++chunk_nnz[cols[k] / panel_cols];
    const std::size_t first = A.tiles.size();
    global_int_t in_panel = 0;
    A.tiles.push_back({r0, r1, 0, {}, {}, {}, {}});
    for (global_int_t c = 0; c < chunks; ++c) {
      panel_of[c] = A.tiles.size() - 1;
      in_panel += chunk_nnz[c];
      if (in_panel >= kMinPanelEntriesPerRow * rows && c + 1 < chunks) {
        A.tiles.push_back({r0, r1, (c + 1) * panel_cols, {}, {}, {}, {}});
        in_panel = 0;
      }
    }
    // Entries per tile and row (columns are sorted, so a row's entries fall into the tiles in
    // order), then the entries.
    for (std::size_t t = first; t < A.tiles.size(); ++t) A.tiles[t].row_ptr.assign(rows + 1, 0);
    for (global_int_t r = r0; r < r1; ++r)
      for (global_int_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k)
        ++A.tiles[panel_of[cols[k] / panel_cols]].row_ptr[r - r0 + 1];
    for (std::size_t t = first; t < A.tiles.size(); ++t) {
      PanelMatrix::Tile& tile = A.tiles[t];
      for (global_int_t r = 0; r < rows; ++r) tile.row_ptr[r + 1] += tile.row_ptr[r];
      const std::size_t n = static_cast<std::size_t>(tile.row_ptr[rows]);
      // Padding for the prefetches: valid column indices (the tile's first column).
      tile.cols.assign(n + kPrefetch, static_cast<word_id_t>(tile.col0));
      if (with_float) tile.values_float.resize(n);
      if (with_double) tile.values_double.resize(n);
    }
    std::vector<global_int_t> at(A.tiles.size() - first);
    for (global_int_t r = r0; r < r1; ++r) {
      for (std::size_t t = first; t < A.tiles.size(); ++t) at[t - first] = A.tiles[t].row_ptr[r - r0];
      for (global_int_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
        const std::size_t t = panel_of[cols[k] / panel_cols];
        PanelMatrix::Tile& tile = A.tiles[t];
        const std::size_t j = static_cast<std::size_t>(at[t - first]++);
        tile.cols[j] = cols[k];
        if (with_float) tile.values_float[j] = static_cast<float>(values[k]);
        if (with_double) tile.values_double[j] = values[k];
      }
    }
  }
  return A;
}

void MultiplyBlock(const PanelMatrix& A, const float* X, int b, double* Y) { MultiplyTiles(A, X, b, Y); }

void MultiplyBlock(const PanelMatrix& A, const double* X, int b, double* Y) { MultiplyTiles(A, X, b, Y); }

void MultiplyBlockReference(const PanelMatrix& A, const double* X, int b, double* Y) {
  std::fill(Y, Y + static_cast<std::size_t>(A.n_rows) * b, 0.0);
  for (const PanelMatrix::Tile& t : A.tiles)
    for (global_int_t r = 0; r < t.row1 - t.row0; ++r)
      for (global_int_t k = t.row_ptr[r]; k < t.row_ptr[r + 1]; ++k) {
        const double v = t.values_double.empty() ? t.values_float[k] : t.values_double[k];
        for (int c = 0; c < b; ++c)
          Y[static_cast<std::size_t>(t.row0 + r) * b + c] += v * X[static_cast<std::size_t>(t.cols[k]) * b + c];
      }
}

}  // namespace qwem
