#include "qwem/pair_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qwem {

namespace {

inline double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double Sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

// 8 doubles: one AVX-512 register, two AVX ones (GCC vector extension).
constexpr int kLanes = 8;
using Vec = double __attribute__((vector_size(kLanes * sizeof(double))));
inline Vec Load(const double* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(double* p, Vec v) { std::memcpy(p, &v, sizeof v); }

// a . b with two vector accumulators (a fixed order for a given d).
inline double Dot(const double* a, const double* b, int d) {
  Vec s0 = {}, s1 = {};
  int k = 0;
  for (; k + 2 * kLanes <= d; k += 2 * kLanes) {
    s0 += Load(a + k) * Load(b + k);
    s1 += Load(a + k + kLanes) * Load(b + k + kLanes);
  }
  if (k + kLanes <= d) {
    s0 += Load(a + k) * Load(b + k);
    k += kLanes;
  }
  s0 += s1;
  double s = 0;
  for (int l = 0; l < kLanes; ++l) s += s0[l];
  for (; k < d; ++k) s += a[k] * b[k];
  return s;
}

// y += g x.
inline void Axpy(double g, const double* x, double* y, int d) {
  int k = 0;
  for (; k + kLanes <= d; k += kLanes) Store(y + k, Load(y + k) + g * Load(x + k));
  for (; k < d; ++k) y[k] += g * x[k];
}

// The rows ahead are fetched while this one is scored (they are scattered over W).
constexpr int kPrefetchAhead = 16;
inline void PrefetchRow(const double* row, int d) {
  const char* p = reinterpret_cast<const char*>(row);
  for (std::size_t b = 0; b < d * sizeof(double); b += 64) __builtin_prefetch(p + b);
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

PairGradients::PairGradients(int d, RowOwnership own) : d_(d), own_(own) {
  start_.assign(std::max<global_int_t>(own.end - own.begin, 0) + 1, 0);
}

PairBatchTotals PairGradients::Compute(const double* W, const std::vector<WeightedPair>& pairs, LossKind loss,
                                       double scale) {
  const int d = d_;
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
  G_.assign(touched_.size() * static_cast<std::size_t>(d), 0.0);
  PairBatchTotals totals;
  std::int32_t first = 0;
  for (std::size_t t = 0; t < touched_.size(); ++t) {
    const word_id_t r = touched_[t];
    const std::int32_t last = start_[own_.Slot(r)];
    const double* wr = W + static_cast<std::size_t>(r) * d;
    double* g = G_.data() + t * static_cast<std::size_t>(d);
    for (std::int32_t e = first; e < last; ++e) {
      if (e + kPrefetchAhead < static_cast<std::int32_t>(n_entries))
        PrefetchRow(W + static_cast<std::size_t>(entries_[e + kPrefetchAhead].other) * d, d);
      const Entry& en = entries_[e];
      const bool i_side = en.pair >= 0;
      const WeightedPair& p = pairs[i_side ? en.pair : ~en.pair];
      const double* wo = W + static_cast<std::size_t>(en.other) * d;
      double l, dl;
      PairLoss(loss, p.positive, Dot(wr, wo, d), &l, &dl);
      Axpy(dl * p.weight * scale, wo, g, d);
      if (i_side) {
        totals.loss += l * p.weight;
        totals.positives += p.positive ? 1 : 0;
        totals.pairs += 1;
      }
    }
    first = last;
  }
  return totals;
}

}  // namespace qwem
