// The vector arithmetic of the pair kernels (pair_kernel.cpp, shared_kernel.cpp), private to
// src/: 64-byte vectors of doubles or floats (GCC vector extension), built with the kernels'
// SIMD flags (CMakeLists.txt). Each function fixes its own order of operations for a given d, so a
// kernel that calls it gives the same result wherever it runs in one build.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "qwem/options.hpp"

namespace qwem::pair_vector {

// One 64-byte vector of Real (one AVX-512 register, two AVX ones; GCC vector extension): 8
// doubles or 16 floats.
using DoubleVec = double __attribute__((vector_size(64)));
using FloatVec = float __attribute__((vector_size(64)));
using HalfFloatVec = float __attribute__((vector_size(32)));
template <class Real>
struct Lanes {
  using Vec = std::conditional_t<std::is_same_v<Real, double>, DoubleVec, FloatVec>;
  static constexpr int kN = 64 / sizeof(Real);
  static Vec Load(const Real* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void Store(Real* p, Vec v) { std::memcpy(p, &v, sizeof v); }
};

// a . b with two vector accumulators, their lanes summed in double (a fixed order for a given d).
template <class Real>
inline double Dot(const Real* a, const Real* b, int d) {
  using L = Lanes<Real>;
  constexpr int n = L::kN;
  typename L::Vec s0 = {}, s1 = {};
  int k = 0;
  for (; k + 2 * n <= d; k += 2 * n) {
    s0 += L::Load(a + k) * L::Load(b + k);
    s1 += L::Load(a + k + n) * L::Load(b + k + n);
  }
  if (k + n <= d) {
    s0 += L::Load(a + k) * L::Load(b + k);
    k += n;
  }
  s0 += s1;
  double s = 0;
  if constexpr (std::is_same_v<Real, double>) {
    for (int l = 0; l < n; ++l) s += s0[l];
  } else {
    // The 16 float lanes as two halves of 8, added in double with the products of a last 8
    // floats if d has them, then the 8 lanes.
    DoubleVec low, high;
    for (int l = 0; l < 8; ++l) low[l] = s0[l], high[l] = s0[l + 8];
    low += high;
    if (k + 8 <= d) {
      HalfFloatVec x, y;
      std::memcpy(&x, a + k, sizeof x);
      std::memcpy(&y, b + k, sizeof y);
      x *= y;
      for (int l = 0; l < 8; ++l) high[l] = x[l];
      low += high;
      k += 8;
    }
    for (int l = 0; l < 8; ++l) s += low[l];
  }
  for (; k < d; ++k) s += static_cast<double>(a[k] * b[k]);
  return s;
}

// y += g x.
template <class Real>
inline void Axpy(Real g, const Real* x, Real* y, int d) {
  using L = Lanes<Real>;
  int k = 0;
  for (; k + L::kN <= d; k += L::kN) L::Store(y + k, L::Load(y + k) + g * L::Load(x + k));
  for (; k < d; ++k) y[k] += g * x[k];
}

// y = g x (a row's first term: no zeroed row to add it to).
template <class Real>
inline void SetScaled(Real g, const Real* x, Real* y, int d) {
  using L = Lanes<Real>;
  int k = 0;
  for (; k + L::kN <= d; k += L::kN) L::Store(y + k, g * L::Load(x + k));
  for (; k < d; ++k) y[k] = g * x[k];
}

// The rows ahead are fetched while this one is scored (they are scattered over W).
constexpr int kPrefetchAhead = 16;
inline void PrefetchRow(const void* row, std::size_t bytes) {
  const char* p = static_cast<const char*>(row);
  for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
}

// The pair loss l(x) and its derivative l'(x), as both kernels take it.
inline void Loss(LossKind loss, bool positive, double x, double* l, double* dl) {
  if (loss == LossKind::kQwem) {
    *l = (positive ? -x : x) + 0.25 * x * x;
    *dl = (positive ? -1.0 : 1.0) + 0.5 * x;
  } else {
    // l = softplus(y) and l' = +-sigmoid(y), y = -x for a positive and x for a negative, both from
    // one e = exp(-|y|), each in the form that cannot overflow.
    const double y = positive ? -x : x, e = std::exp(-std::abs(y));
    *l = y > 0 ? y + std::log1p(e) : std::log1p(e);
    const double s = y >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    *dl = positive ? -s : s;
  }
}

}  // namespace qwem::pair_vector
