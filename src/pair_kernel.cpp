#include "qwem/pair_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace qwem {

namespace {

inline double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double Sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

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

}  // namespace

void PairLoss(LossKind loss, bool positive, double x, double* l, double* dl) {
  if (loss == LossKind::kQwem) {
    *l = (positive ? -x : x) + 0.25 * x * x;
    *dl = (positive ? -1.0 : 1.0) + 0.5 * x;
  } else {
    *l = Softplus(positive ? -x : x);
    *dl = positive ? -Sigmoid(-x) : Sigmoid(x);
  }
}

void ToSingle(const double* W, word_id_t begin, word_id_t end, int d, float* Ws) {
  const std::size_t first = static_cast<std::size_t>(begin) * d, last = static_cast<std::size_t>(end) * d;
  for (std::size_t k = first; k < last; ++k) Ws[k] = static_cast<float>(W[k]);
}

PairGradients::PairGradients(int d, RowOwnership own) : d_(d), own_(own) {
  start_.assign(std::max<global_int_t>(own.end - own.begin, 0) + 1, 0);
}

std::size_t PairGradients::Group(const std::vector<WeightedPair>& pairs) {
  const auto n_slots = static_cast<global_int_t>(start_.size()) - 1;
  // Counting sort of the directed entries by row: counts, then first positions.
  std::fill(start_.begin(), start_.end(), 0);
  std::size_t n_entries = 0;
  for (const WeightedPair& p : pairs) {
    if (p.i < 0) continue;
    if (own_.Owns(p.i)) ++start_[own_.Slot(p.i)], ++n_entries;
    if (own_.Owns(p.j)) ++start_[own_.Slot(p.j)], ++n_entries;
  }
  touched_.clear();
  std::int32_t run = 0;
  for (global_int_t s = 0; s < n_slots; ++s) {
    const std::int32_t c = start_[s];
    if (c > 0) touched_.push_back(static_cast<word_id_t>(own_.begin + s));
    start_[s] = run;
    run += c;
  }
  start_[n_slots] = run;
  entries_.resize(n_entries);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const WeightedPair& p = pairs[k];
    if (p.i < 0) continue;
    if (own_.Owns(p.i)) entries_[start_[own_.Slot(p.i)]++] = {p.j, static_cast<std::int32_t>(k)};
    if (own_.Owns(p.j)) entries_[start_[own_.Slot(p.j)]++] = {p.i, ~static_cast<std::int32_t>(k)};
  }
  // start_[s] is now the end of slot s's entries; its first is the previous touched slot's end.
  return n_entries;
}

template <class Real>
PairBatchTotals PairGradients::Accumulate(const Real* W, const std::vector<WeightedPair>& pairs, LossKind loss,
                                          double scale) {
  constexpr bool kSingle = sizeof(Real) == sizeof(float);
  const int d = d_;
  const auto n_entries = static_cast<std::int32_t>(Group(pairs));
  // Not zeroed: every touched row has a first term, which writes its sum (and, in single
  // precision, its first carry writes its gradient), so no pass clears G_ before the terms.
  G_.resize(touched_.size() * static_cast<std::size_t>(d));
  if (kSingle) partial_.resize(static_cast<std::size_t>(d));
  // The row's float sum carried into its double gradient (single precision).
  auto carry = [&](double* g, bool first_carry) {
    if (first_carry)
      for (int k = 0; k < d; ++k) g[k] = static_cast<double>(partial_[k]);
    else
      for (int k = 0; k < d; ++k) g[k] += static_cast<double>(partial_[k]);
  };
  PairBatchTotals totals;
  std::int32_t first = 0;
  for (std::size_t t = 0; t < touched_.size(); ++t) {
    const word_id_t r = touched_[t];
    const std::int32_t last = start_[own_.Slot(r)];
    const Real* wr = W + static_cast<std::size_t>(r) * d;
    double* g = G_.data() + t * static_cast<std::size_t>(d);
    Real* sum = nullptr;
    if constexpr (kSingle)
      sum = partial_.data();
    else
      sum = g;
    for (std::int32_t e = first; e < last; ++e) {
      if (e + kPrefetchAhead < n_entries)
        PrefetchRow(W + static_cast<std::size_t>(entries_[e + kPrefetchAhead].other) * d, d * sizeof(Real));
      const Entry& en = entries_[e];
      const bool i_side = en.pair >= 0;
      const WeightedPair& p = pairs[i_side ? en.pair : ~en.pair];
      const Real* wo = W + static_cast<std::size_t>(en.other) * d;
      double l, dl;
      PairLoss(loss, p.positive, Dot(wr, wo, d), &l, &dl);
      // The first term of a sum (of the row, or of a float run between carries) writes it.
      const std::int32_t at = kSingle ? (e - first) % kCarry : e - first;
      if (at == 0)
        SetScaled(static_cast<Real>(dl * p.weight * scale), wo, sum, d);
      else
        Axpy(static_cast<Real>(dl * p.weight * scale), wo, sum, d);
      if (kSingle && at == kCarry - 1) carry(g, e - first == kCarry - 1);
      if (i_side) {
        totals.loss += l * p.weight;
        totals.positives += p.positive ? 1 : 0;
        totals.pairs += 1;
      }
    }
    if (kSingle && (last - first) % kCarry != 0) carry(g, last - first < kCarry);
    first = last;
  }
  return totals;
}

PairBatchTotals PairGradients::Compute(const double* W, const std::vector<WeightedPair>& pairs, LossKind loss,
                                       double scale) {
  return Accumulate(W, pairs, loss, scale);
}

PairBatchTotals PairGradients::Compute(const float* Ws, const std::vector<WeightedPair>& pairs, LossKind loss,
                                       double scale) {
  return Accumulate(Ws, pairs, loss, scale);
}

// w -= eta g rounded as two operations (no fused multiply-add), as the step has always been taken,
// so that double runs keep their trajectories.
__attribute__((optimize("fp-contract=off"))) void PairGradients::Descend(double eta, double* W, float* Ws) const {
  const int d = d_;
  constexpr std::size_t kAhead = 4;
  for (std::size_t t = 0; t < touched_.size(); ++t) {
    if (t + kAhead < touched_.size()) {
      const std::size_t next = static_cast<std::size_t>(touched_[t + kAhead]) * d;
      PrefetchRow(W + next, d * sizeof(double));
      if (Ws != nullptr) PrefetchRow(Ws + next, d * sizeof(float));
    }
    const std::size_t row = static_cast<std::size_t>(touched_[t]) * d;
    double* w = W + row;
    const double* g = G_.data() + t * static_cast<std::size_t>(d);
    for (int k = 0; k < d; ++k) w[k] -= eta * g[k];
    if (Ws != nullptr)
      for (int k = 0; k < d; ++k) Ws[row + k] = static_cast<float>(w[k]);
  }
}

}  // namespace qwem
