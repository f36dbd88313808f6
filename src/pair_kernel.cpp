#include "qwem/pair_kernel.hpp"

#include <algorithm>
#include <type_traits>

#include "pair_vector.hpp"

namespace qwem {

using namespace pair_vector;

void SgnsPairLosses(int n, const double* x, const bool* positive, double* l, double* dl) {
  SgnsLosses(n, x, positive, l, dl);
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
  kept_.resize(n_entries);
  // A pair whose two rows are both this rank's is scored once, at its first entry: w_r . w_o is
  // the same number in either order (each product commutes; the sum's order is by column). Rows
  // are scored in ascending order, and in a row the i-side entry of a pair comes before its
  // j-side one, so its first entry is the one in the lower row (i = j: the i-side one).
  auto code = [](std::int32_t link, bool i_side) { return 2 * link + (i_side ? 1 : 0); };
  for (const WeightedPair& p : pairs) {
    if (p.i < 0) continue;
    const double signed_weight = p.positive ? p.weight : -p.weight;
    const bool own_i = own_.Owns(p.i), own_j = own_.Owns(p.j);
    const std::int32_t at_i = own_i ? start_[own_.Slot(p.i)]++ : -1;
    const std::int32_t at_j = own_j ? start_[own_.Slot(p.j)]++ : -1;
    const bool i_first = p.i <= p.j;
    const std::int32_t link_i = !own_j ? Entry::kAlone : i_first ? at_j : Entry::kKept;
    const std::int32_t link_j = !own_i ? Entry::kAlone : i_first ? Entry::kKept : at_i;
    if (own_i) entries_[at_i] = {p.j, code(link_i, true), signed_weight};
    if (own_j) entries_[at_j] = {p.i, code(link_j, false), signed_weight};
  }
  // start_[s] is now the end of slot s's entries; its first is the previous touched slot's end.
  return n_entries;
}

namespace {

// v as a value of its own: a first term, rounded as a sum written to memory is, so that the
// compiler cannot fuse its product into the next term's add (x0 c0 + x1 c1 has two fusions).
template <class T>
inline T Rounded(T v) {
  asm("" : "+m"(v));
  return v;
}

// The sum of a run of n <= kCarry entries, c[e] x_e in entry order, each element's terms added
// one at a time as Axpy adds them into a row in memory (SetScaled writes the first): the run's
// rows x_e stay in L1 while the sum of each span of kSpan vectors of columns stays in registers.
// Double: the sum is the row's gradient g itself, started by this run if fresh (the row's first).
// Single: every run starts a float sum, which then goes into g in double, written if fresh and
// added otherwise (the carries of pair_kernel.hpp).
template <class Real>
void AccumulateRun(const Real* const* x, const Real* c, int n, bool fresh, int d, double* g) {
  using L = Lanes<Real>;
  using Vec = typename L::Vec;
  constexpr int kN = L::kN, kSpan = 4;
  constexpr bool kSingle = sizeof(Real) == sizeof(float);
  // The n terms of columns [k, k + m * kN), m <= kSpan vectors, into acc (started from g in double
  // unless fresh), then out.
  auto span = [&](int k, auto m_constant) {
    constexpr int m = decltype(m_constant)::value;
    Vec acc[m];
    int e = 0;
    if (fresh || kSingle) {
      for (int v = 0; v < m; ++v) acc[v] = Rounded(c[0] * L::Load(x[0] + k + v * kN));
      e = 1;
    } else if constexpr (!kSingle) {
      for (int v = 0; v < m; ++v) acc[v] = L::Load(g + k + v * kN);
    }
    for (; e < n; ++e)
      for (int v = 0; v < m; ++v) acc[v] = acc[v] + c[e] * L::Load(x[e] + k + v * kN);
    for (int v = 0; v < m; ++v)
      if constexpr (kSingle) {
        // The 16 float lanes as two vectors of 8 doubles.
        for (int h = 0; h < 2; ++h) {
          HalfFloatVec half;
          std::memcpy(&half, reinterpret_cast<const float*>(&acc[v]) + 8 * h, sizeof half);
          DoubleVec sum = __builtin_convertvector(half, DoubleVec);
          double* out = g + k + v * kN + 8 * h;
          if (!fresh) sum += Lanes<double>::Load(out);
          Lanes<double>::Store(out, sum);
        }
      } else {
        L::Store(g + k + v * kN, acc[v]);
      }
  };
  int k = 0;
  for (; k + kSpan * kN <= d; k += kSpan * kN) span(k, std::integral_constant<int, kSpan>{});
  for (; k + kN <= d; k += kN) span(k, std::integral_constant<int, 1>{});
  if (k == d) return;
  // The last d - k < kN columns term by term, as SetScaled and Axpy take them.
  Real tail[kN];
  Real* y = tail;
  if constexpr (!kSingle) y = g + k;
  for (int e = 0; e < n; ++e)
    if (e == 0 && (fresh || kSingle))
      SetScaled(c[e], x[e] + k, y, d - k);
    else
      Axpy(c[e], x[e] + k, y, d - k);
  if constexpr (kSingle)
    for (int l = 0; k + l < d; ++l)
      g[k + l] = fresh ? static_cast<double>(tail[l]) : g[k + l] + static_cast<double>(tail[l]);
}

}  // namespace

template <class Real>
PairBatchTotals PairGradients::Accumulate(const Real* W, const std::vector<WeightedPair>& pairs, LossKind loss,
                                          double scale) {
  const int d = d_;
  const auto n_entries = static_cast<std::int32_t>(Group(pairs));
  // Not zeroed: every touched row's first run writes its sum.
  G_.resize(touched_.size() * static_cast<std::size_t>(d));
  PairBatchTotals totals;
  const Real* rows[kCarry];
  Real coefficients[kCarry];
  double products[kCarry];  // w_r . w_other of the run's entries that score
  // SGNS's losses come after the run's dot products, all at once in vector lanes (PairLosses);
  // QWEM's few operations go with each product.
  const bool defer_losses = loss != LossKind::kQwem;
  double losses[kCarry], derivatives[kCarry];
  bool positive[kCarry];
  std::int32_t first = 0;
  for (std::size_t t = 0; t < touched_.size(); ++t) {
    const word_id_t r = touched_[t];
    const std::int32_t last = start_[own_.Slot(r)];
    const Real* wr = W + static_cast<std::size_t>(r) * d;
    double* g = G_.data() + t * static_cast<std::size_t>(d);
    // The row's entries in runs of kCarry: each entry scored, then the run's terms summed.
    for (std::int32_t run = first; run < last; run += kCarry) {
      const int n = static_cast<int>(std::min<std::int32_t>(kCarry, last - run));
      // Entry a's loss and coefficient from its dot product's (computed: losses and derivatives)
      // or its pair's kept score.
      auto take = [&](int a, bool computed) {
        const std::int32_t e = run + a;
        const Entry& en = entries_[e];
        const std::int32_t link = en.link();
        const double weight = en.weight();
        double l, dl;
        if (link == Entry::kKept) {
          l = kept_[e].l, dl = kept_[e].dl;
        } else {
          if (computed)
            l = losses[a], dl = derivatives[a];
          else
            QwemLoss(en.positive(), products[a], &l, &dl);
          if (link >= 0) kept_[link] = {l, dl};
        }
        coefficients[a] = static_cast<Real>(dl * weight * scale);
        if (en.i_side()) {
          totals.loss += l * weight;
          totals.positives += en.positive() ? 1 : 0;
          totals.pairs += 1;
        }
      };
      for (int a = 0; a < n; ++a) {
        const std::int32_t e = run + a;
        if (e + kPrefetchAhead < n_entries)
          PrefetchRow(W + static_cast<std::size_t>(entries_[e + kPrefetchAhead].other) * d, d * sizeof(Real));
        const Entry& en = entries_[e];
        rows[a] = W + static_cast<std::size_t>(en.other) * d;
        // (A pair's second entry finds its score kept: Group.)
        products[a] = en.link() == Entry::kKept ? 0.0 : Dot(wr, rows[a], d);
        if (!defer_losses) take(a, false);
      }
      if (defer_losses) {
        for (int a = 0; a < n; ++a) positive[a] = entries_[run + a].positive();
        for (int a = n; a < SgnsPadded(n); ++a) products[a] = 0.0, positive[a] = false;
        PairLosses(loss, SgnsPadded(n), products, positive, losses, derivatives);
        for (int a = 0; a < n; ++a) take(a, true);
      }
      AccumulateRun(rows, coefficients, n, run == first, d, g);
    }
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
