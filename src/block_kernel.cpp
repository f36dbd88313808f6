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
void PanelFloat(std::size_t n_rows, const global_int_t* row_ptr, const word_id_t* cols, const float* values,
                const float* X, double* Y, bool add) {
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
void PanelDouble(std::size_t n_rows, const global_int_t* row_ptr, const word_id_t* cols, const double* values,
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

template <class X, class Kernel>
void ForEachPanel(const PanelMatrix& A, const X* x, int b, double* Y, Kernel kernel) {
  const std::size_t panels = A.row_ptr.size();
  if (panels == 0) std::fill(Y, Y + static_cast<std::size_t>(A.n_rows) * b, 0.0);
  for (std::size_t p = 0; p < panels; ++p) kernel(p, x, Y, p > 0);
}

}  // namespace

bool SupportedBlockWidth(int b) { return std::find(std::begin(kBlockWidths), std::end(kBlockWidths), b) != std::end(kBlockWidths); }

std::size_t PanelMatrix::bytes() const {
  std::size_t total = 0;
  for (const auto& v : row_ptr) total += v.size() * sizeof(global_int_t);
  for (const auto& v : cols) total += v.size() * sizeof(word_id_t);
  for (const auto& v : values_float) total += v.size() * sizeof(float);
  for (const auto& v : values_double) total += v.size() * sizeof(double);
  return total;
}

global_int_t PanelColumns(int b, std::size_t element_bytes) {
  return std::max<global_int_t>(1, static_cast<global_int_t>(kPanelBytes / (static_cast<std::size_t>(b) * element_bytes)));
}

PanelMatrix MakePanelMatrix(global_int_t n_rows, global_int_t n_cols, const global_int_t* row_ptr,
                            const word_id_t* cols, const double* values, global_int_t panel_cols, bool with_float,
                            bool with_double) {
  PanelMatrix A;
  A.n_rows = n_rows;
  A.n_cols = n_cols;
  A.nnz = row_ptr[n_rows] - row_ptr[0];
  for (global_int_t c = 0; c < n_cols; c += panel_cols) A.panel_begin.push_back(c);
  A.panel_begin.push_back(n_cols);
  const std::size_t panels = A.panel_begin.size() - 1;
  // Entries per panel and row: columns are sorted, so each row's entries fall into the panels in
  // order; one counting pass, then one filling pass.
  A.row_ptr.assign(panels, std::vector<global_int_t>(n_rows + 1, 0));
  for (global_int_t r = 0; r < n_rows; ++r)
    for (global_int_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) ++A.row_ptr[cols[k] / panel_cols][r + 1];
  A.cols.resize(panels);
  if (with_float) A.values_float.resize(panels);
  if (with_double) A.values_double.resize(panels);
  for (std::size_t p = 0; p < panels; ++p) {
    auto& ptr = A.row_ptr[p];
    for (global_int_t r = 0; r < n_rows; ++r) ptr[r + 1] += ptr[r];
    const std::size_t n = static_cast<std::size_t>(ptr[n_rows]);
    // Padding for the prefetches: valid column indices (the panel's first column).
    A.cols[p].assign(n + kPrefetch, static_cast<word_id_t>(A.panel_begin[p]));
    if (with_float) A.values_float[p].resize(n);
    if (with_double) A.values_double[p].resize(n);
  }
  std::vector<global_int_t> at(panels);
  for (global_int_t r = 0; r < n_rows; ++r) {
    for (std::size_t p = 0; p < panels; ++p) at[p] = A.row_ptr[p][r];
    for (global_int_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      const std::size_t p = static_cast<std::size_t>(cols[k] / panel_cols);
      const std::size_t j = static_cast<std::size_t>(at[p]++);
      A.cols[p][j] = cols[k];
      if (with_float) A.values_float[p][j] = static_cast<float>(values[k]);
      if (with_double) A.values_double[p][j] = values[k];
    }
  }
  return A;
}

void MultiplyBlock(const PanelMatrix& A, const float* X, int b, double* Y) {
  ForEachPanel(A, X, b, Y, [&](std::size_t p, const float* x, double* y, bool add) {
    const auto n = static_cast<std::size_t>(A.n_rows);
    const global_int_t* ptr = A.row_ptr[p].data();
    const word_id_t* cols = A.cols[p].data();
    const float* v = A.values_float[p].data();
    switch (b) {
      case 16: return PanelFloat<1>(n, ptr, cols, v, x, y, add);
      case 32: return PanelFloat<2>(n, ptr, cols, v, x, y, add);
      case 48: return PanelFloat<3>(n, ptr, cols, v, x, y, add);
      case 64: return PanelFloat<4>(n, ptr, cols, v, x, y, add);
    }
    throw std::invalid_argument("MultiplyBlock: unsupported block width " + std::to_string(b));
  });
}

void MultiplyBlock(const PanelMatrix& A, const double* X, int b, double* Y) {
  ForEachPanel(A, X, b, Y, [&](std::size_t p, const double* x, double* y, bool add) {
    const auto n = static_cast<std::size_t>(A.n_rows);
    const global_int_t* ptr = A.row_ptr[p].data();
    const word_id_t* cols = A.cols[p].data();
    const double* v = A.values_double[p].data();
    switch (b) {
      case 16: return PanelDouble<1>(n, ptr, cols, v, x, y, add);
      case 32: return PanelDouble<2>(n, ptr, cols, v, x, y, add);
      case 48: return PanelDouble<3>(n, ptr, cols, v, x, y, add);
      case 64: return PanelDouble<4>(n, ptr, cols, v, x, y, add);
    }
    throw std::invalid_argument("MultiplyBlock: unsupported block width " + std::to_string(b));
  });
}

void MultiplyBlockReference(const PanelMatrix& A, const double* X, int b, double* Y) {
  const auto n = static_cast<std::size_t>(A.n_rows);
  std::fill(Y, Y + n * b, 0.0);
  for (std::size_t p = 0; p < A.row_ptr.size(); ++p)
    for (std::size_t r = 0; r < n; ++r)
      for (global_int_t k = A.row_ptr[p][r]; k < A.row_ptr[p][r + 1]; ++k) {
        const double v = A.values_double.empty() ? A.values_float[p][k] : A.values_double[p][k];
        for (int c = 0; c < b; ++c) Y[r * b + c] += v * X[static_cast<std::size_t>(A.cols[p][k]) * b + c];
      }
}

}  // namespace qwem
