#include "qwem/shared_kernel.hpp"

#include <algorithm>

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

SharedGradients::SharedGradients(int d, RowOwnership own) : d_(d), own_(own) {
  const auto rows = static_cast<std::size_t>(std::max<global_int_t>(own.end - own.begin, 0));
  G_.assign(rows * d, 0.0);
  is_touched_.assign(rows, 0);
}

double* SharedGradients::Row(word_id_t r) {
  const global_int_t s = own_.Slot(r);
  is_touched_[s] = 1;
  return G_.data() + static_cast<std::size_t>(s) * d_;
}

void SharedGradients::PrefetchGradient(word_id_t r) const {
  if (own_.Owns(r)) PrefetchRow(G_.data() + static_cast<std::size_t>(own_.Slot(r)) * d_, d_ * sizeof(double));
}

std::size_t SharedGradients::FirstGroup(const SharedBatch& batch, word_id_t row) {
  return static_cast<std::size_t>(std::lower_bound(batch.word.begin(), batch.word.end(), row) - batch.word.begin());
}

// The terms of positive a (its derivatives D) on the owned rows: its A row's, g_j += sum_c D[c] b_c,
// and the B rows' (gb[c] not null: owned), g_{b_c} += D[c] w_a. In single precision a B row's terms
// run in partial_ and are carried into gb every kCarry positives (at: the positive's place in that
// run), and the A row's K + 1 terms are summed in float first.
template <class Real>
void SharedGradients::AddTerms(const Real* wa, const Real* const* b, const double* D, word_id_t j, double* const* gb,
                               int C, int at) {
  constexpr bool kSingle = sizeof(Real) == sizeof(float);
  const int d = d_;
  if (own_.Owns(j)) {
    double* gj = Row(j);
    if constexpr (kSingle) {
      float* sum = a_sum_.data();
      SetScaled(static_cast<float>(D[0]), b[0], sum, d);
      for (int c = 1; c < C; ++c) Axpy(static_cast<float>(D[c]), b[c], sum, d);
      for (int k = 0; k < d; ++k) gj[k] += static_cast<double>(sum[k]);
    } else {
      for (int c = 0; c < C; ++c) Axpy(D[c], b[c], gj, d);
    }
  }
  for (int c = 0; c < C; ++c) {
    if (gb[c] == nullptr) continue;
    if constexpr (kSingle) {
      float* sum = partial_.data() + static_cast<std::size_t>(c) * d;
      if (at == 0)
        SetScaled(static_cast<float>(D[c]), wa, sum, d);
      else
        Axpy(static_cast<float>(D[c]), wa, sum, d);
      if (at == kCarry - 1) CarryInto(sum, gb[c]);
    } else {
      Axpy(D[c], wa, gb[c], d);
    }
  }
}

void SharedGradients::CarryInto(const float* sum, double* g) const {
  for (int k = 0; k < d_; ++k) g[k] += static_cast<double>(sum[k]);
}

// A group's B rows owned here (their gradients, marked touched), or null.
void SharedGradients::OwnedRows(const SharedBatch& batch, std::size_t g, bool all_owned, double** gb) {
  for (int c = 0; c <= batch.K; ++c) {
    const word_id_t r = c == 0 ? batch.word[g] : batch.negative[g * batch.K + c - 1];
    gb[c] = all_owned || own_.Owns(r) ? Row(r) : nullptr;
  }
}

// Single precision's float sums for groups of C rows (no-op in double).
template <class Real>
void SharedGradients::SizeSums(int C) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    partial_.resize(static_cast<std::size_t>(C) * d_);
    a_sum_.resize(d_);
  }
}

// Single precision: what the B rows' float sums hold after a group's n positives (a run shorter
// than kCarry).
template <class Real>
void SharedGradients::FlushGroup(double* const* gb, int C, std::int32_t n) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (n % kCarry == 0) return;
    for (int c = 0; c < C; ++c)
      if (gb[c] != nullptr) CarryInto(partial_.data() + static_cast<std::size_t>(c) * d_, gb[c]);
  }
}

template <class Real>
PairBatchTotals SharedGradients::ScoreGroups(const Real* W, const SharedBatch& batch, std::size_t first,
                                             std::size_t last, LossKind loss, double scale, bool accumulate) {
  const int d = d_, C = batch.K + 1;
  D_.resize(static_cast<std::size_t>(batch.Positives()) * C);
  SizeSums<Real>(C);
  std::vector<const Real*> b(C);
  std::vector<double*> gb(C, nullptr);
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
      // The C dot products first, then their losses (SGNS: an exp and a log1p each), so that the
      // losses' calls overlap (D holds the products until then).
      for (int c = 0; c < C; ++c) D[c] = Dot(wa, b[c], d);
      for (int c = 0; c < C; ++c) {
        double l, dl;
        Loss(loss, c == 0, D[c], &l, &dl);
        D[c] = dl * q[c] * scale;
        totals.loss += l * q[c];
      }
      totals.positives += 1;
      totals.pairs += C;
      if (accumulate) AddTerms(wa, b.data(), D, batch.partner[a], gb.data(), C, (a - a0) % kCarry);
    }
    if (accumulate) FlushGroup<Real>(gb.data(), C, a1 - a0);
  }
  return totals;
}

template <class Real>
void SharedGradients::AccumulateGroups(const Real* W, const SharedBatch& batch) {
  const int d = d_, C = batch.K + 1;
  SizeSums<Real>(C);
  std::vector<const Real*> b(C);
  std::vector<double*> gb(C, nullptr);
  for (std::size_t g = 0; g < batch.Groups(); ++g) {
    GroupRows(W, batch, g, d, b.data());
    OwnedRows(batch, g, false, gb.data());
    // Whether a positive's own row is needed here: for an owned B row's terms.
    const bool any_b = std::any_of(gb.begin(), gb.end(), [](const double* p) { return p != nullptr; });
    const std::int32_t a0 = batch.start[g], a1 = batch.start[g + 1];
    for (std::int32_t a = a0; a < a1; ++a) {
      if (!any_b && !own_.Owns(batch.partner[a])) continue;
      if (a + kPrefetchAhead < a1) {
        if (any_b) PrefetchRow(PartnerRow(W, batch, a + kPrefetchAhead, d), d * sizeof(Real));
        PrefetchGradient(batch.partner[a + kPrefetchAhead]);
      }
      AddTerms(PartnerRow(W, batch, a, d), b.data(), D_.data() + static_cast<std::size_t>(a) * C, batch.partner[a],
               gb.data(), C, (a - a0) % kCarry);
    }
    FlushGroup<Real>(gb.data(), C, a1 - a0);
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

// w -= eta g rounded as two operations, as PairGradients::Descend does.
__attribute__((optimize("fp-contract=off"))) void SharedGradients::Descend(double eta, double* W, float* Ws) {
  const int d = d_;
  // In row order, which the hardware's prefetchers follow.
  for (std::size_t s = 0; s < is_touched_.size(); ++s) {
    if (!is_touched_[s]) continue;
    const word_id_t r = own_.begin + static_cast<word_id_t>(s);
    double* g = G_.data() + s * d;
    double* w = W + static_cast<std::size_t>(r) * d;
    for (int k = 0; k < d; ++k) w[k] -= eta * g[k];
    if (Ws != nullptr)
      for (int k = 0; k < d; ++k) Ws[static_cast<std::size_t>(r) * d + k] = static_cast<float>(w[k]);
    std::fill(g, g + d, 0.0);
    is_touched_[s] = 0;
  }
}

}  // namespace qwem
