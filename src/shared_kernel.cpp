#include "qwem/shared_kernel.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "pair_vector.hpp"

namespace qwem {

using namespace pair_vector;

namespace {

template <class Real>
PairBatchTotals ComputeSharedIn(MPI_Comm comm, const std::vector<word_id_t>& bounds, SharedGradients& gradients,
                                const Real* W, const SharedBatch& batch, LossKind loss, double scale) {
  int size, rank;
  QWEM_MPI(MPI_Comm_size(comm, &size));
  QWEM_MPI(MPI_Comm_rank(comm, &rank));
  if (size == 1) return gradients.Compute(W, batch, loss, scale);
  // Rank r scores the groups of its words: positives [start[first(r)], start[first(r + 1)]).
  const int C = batch.K + 1;
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    const std::int32_t a0 = batch.start[SharedGradients::FirstGroup(batch, bounds[r])];
    const std::int32_t a1 = batch.start[SharedGradients::FirstGroup(batch, bounds[r + 1])];
    displs[r] = a0 * C;
    counts[r] = (a1 - a0) * C;
  }
  const PairBatchTotals totals = gradients.Score(W, batch, SharedGradients::FirstGroup(batch, bounds[rank]),
                                                 SharedGradients::FirstGroup(batch, bounds[rank + 1]), loss, scale);
  QWEM_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, gradients.Derivatives().data(), counts.data(),
                          displs.data(), MPI_DOUBLE, comm));
  gradients.Accumulate(W, batch);
  return totals;
}

// A group's B rows: the shared word's, then its K negatives'.
template <class Real>
void GroupRows(const Real* W, const SharedBatch& batch, std::size_t g, int d, const Real** b) {
  b[0] = W + static_cast<std::size_t>(batch.word[g]) * d;
  for (int k = 0; k < batch.K; ++k) b[1 + k] = W + static_cast<std::size_t>(batch.negative[g * batch.K + k]) * d;
}

template <class Real>
const Real* PartnerRow(const Real* W, const SharedBatch& batch, std::int32_t a, int d) {
  return W + static_cast<std::size_t>(batch.partner[a]) * d;
}

}  // namespace

SharedGradients::SharedGradients(int d, RowOwnership own, PairPrecision precision)
    : d_(d), own_(own), single_(precision == PairPrecision::kSingle) {
  const auto rows = static_cast<std::size_t>(std::max<global_int_t>(own.end - own.begin, 0));
  if (single_)
    Gs_.assign(rows * d, 0.0f);
  else
    G_.assign(rows * d, 0.0);
  is_touched_.assign(rows, 0);
}

template <class Real>
Real* SharedGradients::Row(word_id_t r) {
  const global_int_t s = own_.Slot(r);
  is_touched_[s] = 1;
  return Rows<Real>() + static_cast<std::size_t>(s) * d_;
}

template <class Real>
Real* SharedGradients::Rows() {
  if ((sizeof(Real) == sizeof(float)) != single_)
    throw std::logic_error("SharedGradients: a batch in the other precision than it was made for");
  if constexpr (sizeof(Real) == sizeof(float))
    return Gs_.data();
  else
    return G_.data();
}

void SharedGradients::PrefetchGradient(word_id_t r) const {
  if (!own_.Owns(r)) return;
  const std::size_t at = static_cast<std::size_t>(own_.Slot(r)) * d_;
  if (single_)
    PrefetchRow(Gs_.data() + at, d_ * sizeof(float));
  else
    PrefetchRow(G_.data() + at, d_ * sizeof(double));
}

std::vector<double> SharedGradients::Gradient(word_id_t r) const {
  const std::size_t at = static_cast<std::size_t>(own_.Slot(r)) * d_;
  return single_ ? std::vector<double>(Gs_.begin() + at, Gs_.begin() + at + d_)
                 : std::vector<double>(G_.begin() + at, G_.begin() + at + d_);
}

std::size_t SharedGradients::FirstGroup(const SharedBatch& batch, word_id_t row) {
  return static_cast<std::size_t>(std::lower_bound(batch.word.begin(), batch.word.end(), row) - batch.word.begin());
}

// The terms of positive a (its derivatives D) on the owned rows, in the precision of W: its A
// row's, g_j += D[c] b_c for c = 0 .. C - 1, and the B rows' (gb[c] not null: owned),
// g_{b_c} += D[c] w_a.
template <class Real>
void SharedGradients::AddTerms(const Real* wa, const Real* const* b, const double* D, word_id_t j, Real* const* gb,
                               int C) {
  const int d = d_;
  if (own_.Owns(j)) {
    Real* gj = Row<Real>(j);
    for (int c = 0; c < C; ++c) Axpy(static_cast<Real>(D[c]), b[c], gj, d);
  }
  for (int c = 0; c < C; ++c)
    if (gb[c] != nullptr) Axpy(static_cast<Real>(D[c]), wa, gb[c], d);
}

// A group's B rows owned here (their gradients, marked touched), or null.
template <class Real>
void SharedGradients::OwnedRows(const SharedBatch& batch, std::size_t g, bool all_owned, Real** gb) {
  for (int c = 0; c <= batch.K; ++c) {
    const word_id_t r = c == 0 ? batch.word[g] : batch.negative[g * batch.K + c - 1];
    gb[c] = all_owned || own_.Owns(r) ? Row<Real>(r) : nullptr;
  }
}

template <class Real>
PairBatchTotals SharedGradients::ScoreGroups(const Real* W, const SharedBatch& batch, std::size_t first,
                                             std::size_t last, LossKind loss, double scale, bool accumulate) {
  const int d = d_, C = batch.K + 1;
  D_.resize(static_cast<std::size_t>(batch.Positives()) * C);
  // A positive's C products and their losses, padded with zeros to whole vector blocks.
  const int padded = loss == LossKind::kQwem ? C : SgnsPadded(C);
  std::vector<double> products(padded, 0.0), l(padded), dl(padded);
  const std::unique_ptr<bool[]> is_positive(new bool[padded]());  // column 0: the positive
  is_positive[0] = true;
  std::vector<const Real*> b(C);
  std::vector<Real*> gb(C, nullptr);
  PairBatchTotals totals;
  const std::int32_t end = last > first ? batch.start[last] : 0;
  for (std::size_t g = first; g < last; ++g) {
    GroupRows(W, batch, g, d, b.data());
    if (accumulate) OwnedRows(batch, g, true, gb.data());
    const std::int32_t a0 = batch.start[g], a1 = batch.start[g + 1];
    for (std::int32_t a = a0; a < a1; ++a) {
      if (a + kPrefetchAhead < end) {
        PrefetchRow(PartnerRow(W, batch, a + kPrefetchAhead, d), d * sizeof(Real));
        if (accumulate) PrefetchGradient(batch.partner[a + kPrefetchAhead]);
      }
      const Real* wa = PartnerRow(W, batch, a, d);
      const double* q = batch.weight.data() + static_cast<std::size_t>(a) * C;
      double* D = D_.data() + static_cast<std::size_t>(a) * C;
      // The C dot products first, then their losses, in vector lanes.
      for (int c = 0; c < C; ++c) products[c] = Dot(wa, b[c], d);
      PairLosses(loss, padded, products.data(), is_positive.get(), l.data(), dl.data());
      for (int c = 0; c < C; ++c) {
        D[c] = dl[c] * q[c] * scale;
        totals.loss += l[c] * q[c];
      }
      totals.positives += 1;
      totals.pairs += C;
      if (accumulate) AddTerms(wa, b.data(), D, batch.partner[a], gb.data(), C);
    }
  }
  return totals;
}

template <class Real>
void SharedGradients::AccumulateGroups(const Real* W, const SharedBatch& batch) {
  const int d = d_, C = batch.K + 1;
  std::vector<const Real*> b(C);
  std::vector<Real*> gb(C, nullptr);
  for (std::size_t g = 0; g < batch.Groups(); ++g) {
    GroupRows(W, batch, g, d, b.data());
    OwnedRows(batch, g, false, gb.data());
    // Whether a positive's own row is needed here: for an owned B row's terms.
    const bool any_b = std::any_of(gb.begin(), gb.end(), [](const Real* p) { return p != nullptr; });
    const std::int32_t a0 = batch.start[g], a1 = batch.start[g + 1];
    for (std::int32_t a = a0; a < a1; ++a) {
      if (!any_b && !own_.Owns(batch.partner[a])) continue;
      if (a + kPrefetchAhead < a1) {
        if (any_b) PrefetchRow(PartnerRow(W, batch, a + kPrefetchAhead, d), d * sizeof(Real));
        PrefetchGradient(batch.partner[a + kPrefetchAhead]);
      }
      AddTerms(PartnerRow(W, batch, a, d), b.data(), D_.data() + static_cast<std::size_t>(a) * C, batch.partner[a],
               gb.data(), C);
    }
  }
}

PairBatchTotals SharedGradients::Compute(const double* W, const SharedBatch& batch, LossKind loss, double scale) {
  return ScoreGroups(W, batch, 0, batch.Groups(), loss, scale, true);
}
PairBatchTotals SharedGradients::Compute(const float* Ws, const SharedBatch& batch, LossKind loss, double scale) {
  return ScoreGroups(Ws, batch, 0, batch.Groups(), loss, scale, true);
}
PairBatchTotals SharedGradients::Score(const double* W, const SharedBatch& batch, std::size_t first, std::size_t last,
                                       LossKind loss, double scale) {
  return ScoreGroups(W, batch, first, last, loss, scale, false);
}
PairBatchTotals SharedGradients::Score(const float* Ws, const SharedBatch& batch, std::size_t first, std::size_t last,
                                       LossKind loss, double scale) {
  return ScoreGroups(Ws, batch, first, last, loss, scale, false);
}
void SharedGradients::Accumulate(const double* W, const SharedBatch& batch) { AccumulateGroups(W, batch); }
void SharedGradients::Accumulate(const float* Ws, const SharedBatch& batch) { AccumulateGroups(Ws, batch); }

PairBatchTotals ComputeShared(MPI_Comm comm, const std::vector<word_id_t>& bounds, SharedGradients& gradients,
                              const double* W, const SharedBatch& batch, LossKind loss, double scale) {
  return ComputeSharedIn(comm, bounds, gradients, W, batch, loss, scale);
}
PairBatchTotals ComputeShared(MPI_Comm comm, const std::vector<word_id_t>& bounds, SharedGradients& gradients,
                              const float* Ws, const SharedBatch& batch, LossKind loss, double scale) {
  return ComputeSharedIn(comm, bounds, gradients, Ws, batch, loss, scale);
}

// w -= eta g rounded as two operations, as PairGradients::Descend does (g in W's copy's precision).
__attribute__((optimize("fp-contract=off"))) void SharedGradients::Descend(double eta, double* W, float* Ws) {
  if (single_ && Ws == nullptr) throw std::logic_error("SharedGradients::Descend: single precision needs the copy");
  const int d = d_;
  // In row order, which the hardware's prefetchers follow.
  for (std::size_t s = 0; s < is_touched_.size(); ++s) {
    if (!is_touched_[s]) continue;
    const word_id_t r = own_.begin + static_cast<word_id_t>(s);
    double* w = W + static_cast<std::size_t>(r) * d;
    if (single_) {
      float* g = Gs_.data() + s * d;
      float* ws = Ws + static_cast<std::size_t>(r) * d;
      for (int k = 0; k < d; ++k) {
        w[k] -= eta * static_cast<double>(g[k]);
        ws[k] = static_cast<float>(w[k]);
      }
      std::fill(g, g + d, 0.0f);
    } else {
      double* g = G_.data() + s * d;
      for (int k = 0; k < d; ++k) w[k] -= eta * g[k];
      if (Ws != nullptr)
        for (int k = 0; k < d; ++k) Ws[static_cast<std::size_t>(r) * d + k] = static_cast<float>(w[k]);
      std::fill(g, g + d, 0.0);
    }
    is_touched_[s] = 0;
  }
}

}  // namespace qwem
