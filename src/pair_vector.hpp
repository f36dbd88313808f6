// The vector arithmetic of the pair kernels (pair_kernel.cpp, shared_kernel.cpp), private to
// src/: 64-byte vectors of doubles or floats (GCC vector extension), built with the kernels'
// SIMD flags (CMakeLists.txt). Each function fixes its own order of operations for a given d, so a
// kernel that calls it gives the same result wherever it runs in one build.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

// QWEM's pair loss l(x) and its derivative l'(x), as both kernels take it.
inline void QwemLoss(bool positive, double x, double* l, double* dl) {
  *l = (positive ? -x : x) + 0.25 * x * x;
  *dl = (positive ? -1.0 : 1.0) + 0.5 * x;
}

// SGNS's pair losses of kSgnsLanes products at once (SgnsLosses below takes any count):
// l = softplus(y) and l' = +-sigmoid(y), y = -x for a positive and x for a negative, from one
// e = exp(-|y|), each in the form that cannot overflow. exp and log1p are evaluated here, in
// vector lanes, instead of by the library one value at a time (measured alone: 12 ns a value
// from the library, 3.6 ns here): each lane's result depends on its own x alone, whatever the
// other lanes hold.
//  * e = 2^-n exp(r), n = round(a / ln 2) (a = |y| clamped at 700: beyond, e is below 1e-304,
//    and so is the clamp's effect on any result), r = n ln 2 - a in two parts
//    (Cody and Waite), |r| <= ln(2) / 2, exp(r) by its Taylor series to r^13 (truncation
//    below 1e-17 of it);
//  * log1p(e) = 2 atanh(t), t = e / (2 + e) in [0, 1/3], by its series to t^35 (truncation below
//    2e-18 of it), so no cancellation for small e.
// Both agree with the library's to a few units in the last place (Pairs.SgnsLossesMatchTheLibrary).
constexpr int kSgnsLanes = 8;
inline void SgnsLossLanes(const double* x, const bool* positive, double* l, double* dl) {
  using Int64Vec = std::int64_t __attribute__((vector_size(64)));
  DoubleVec xv, sign;  // sign: -1 for a positive (y = -x), +1 for a negative
  for (int k = 0; k < kSgnsLanes; ++k) {
    xv[k] = x[k];
    sign[k] = positive[k] ? -1.0 : 1.0;
  }
  const DoubleVec zero = {}, one = zero + 1.0;
  const DoubleVec y = sign * xv;
  DoubleVec a = y < zero ? -y : y;
  a = a > zero + 700.0 ? zero + 700.0 : a;
  // e = exp(-a).
  const Int64Vec n = __builtin_convertvector(a * 1.4426950408889634 + 0.5, Int64Vec);  // a >= 0: a floor
  const DoubleVec nd = __builtin_convertvector(n, DoubleVec);
  const DoubleVec r = (nd * 0.6931471803691238 - a) + nd * 1.9082149292705877e-10;
  DoubleVec p = zero + 1.0 / 6227020800.0;  // 1 / 13!
  constexpr double kInverseFactorial[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                          1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,     1.0 / 120.0,
                                          1.0 / 24.0,        1.0 / 6.0,        0.5,             1.0,
                                          1.0};
  for (const double c : kInverseFactorial) p = p * r + c;
  const Int64Vec bits = (1023 - n) << 52;  // 2^-n, n <= 1010
  DoubleVec scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const DoubleVec e = p * scale;
  // One division for both 1 / (1 + e) and t = e / (2 + e): R = 1 / ((1 + e) (2 + e)).
  const DoubleVec one_e = one + e, two_e = e + 2.0;
  const DoubleVec R = one / (one_e * two_e);
  // log1p(e) = 2 (t + t^3 / 3 + ... + t^35 / 35).
  const DoubleVec t = e * (one_e * R), u = t * t;
  DoubleVec q = zero + 1.0 / 35.0;
  for (int k = 33; k >= 1; k -= 2) q = q * u + 1.0 / k;
  const DoubleVec log1p_e = 2.0 * t * q;
  const DoubleVec lv = y > zero ? y + log1p_e : log1p_e;
  const DoubleVec inv = two_e * R;
  const DoubleVec s = y >= zero ? inv : e * inv;
  const DoubleVec dlv = sign * s;  // +-sigmoid: -s for a positive, s for a negative
  for (int k = 0; k < kSgnsLanes; ++k) {
    l[k] = lv[k];
    dl[k] = dlv[k];
  }
}

// n rounded up to whole blocks of kSgnsLanes: a caller whose arrays hold that many (the rest
// padded) saves SgnsLosses its copy of a last partial block.
constexpr int SgnsPadded(int n) { return (n + kSgnsLanes - 1) / kSgnsLanes * kSgnsLanes; }

// The SGNS losses of n products (any n): in blocks of kSgnsLanes, a last partial one copied.
inline void SgnsLosses(int n, const double* x, const bool* positive, double* l, double* dl) {
  const int whole = n / kSgnsLanes * kSgnsLanes;
  for (int k = 0; k < whole; k += kSgnsLanes) SgnsLossLanes(x + k, positive + k, l + k, dl + k);
  if (whole == n) return;
  double xs[kSgnsLanes] = {}, ls[kSgnsLanes], dls[kSgnsLanes];
  bool ps[kSgnsLanes] = {};
  std::copy(x + whole, x + n, xs);
  std::copy(positive + whole, positive + n, ps);
  SgnsLossLanes(xs, ps, ls, dls);
  std::copy(ls, ls + (n - whole), l + whole);
  std::copy(dls, dls + (n - whole), dl + whole);
}

// The pair losses and derivatives of n products, as both kernels take them.
inline void PairLosses(LossKind loss, int n, const double* x, const bool* positive, double* l, double* dl) {
  if (loss == LossKind::kQwem) {
    for (int k = 0; k < n; ++k) QwemLoss(positive[k], x[k], l + k, dl + k);
  } else {
    SgnsLosses(n, x, positive, l, dl);
  }
}

}  // namespace qwem::pair_vector
