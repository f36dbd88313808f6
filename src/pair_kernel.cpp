#include "qwem/pair_kernel.hpp"

#include <algorithm>

#include "pair_vector.hpp"

namespace qwem {

using namespace pair_vector;

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
      Loss(loss, p.positive, Dot(wr, wo, d), &l, &dl);
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
