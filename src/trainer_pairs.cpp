// pairs: data-parallel SGD on pairs drawn from P_ij, one tied W (the theory's setting).
//
// Sampling is keyed by (seed, step, sample index), never by rank, so for a fixed seed and
// global batch the trajectory does not depend on the number of ranks:
//  * a positive pair is drawn from P_ij, the windowed (L+1-j)-weighted pair distribution, by
//    inverting the cumulative counts of C in its global (row-major) order. Each rank owns a
//    contiguous slice of that order (its rows of C: "its shard" of the pair space), draws the
//    samples whose uniform falls in its slice, and knows C_ij for them;
//  * negatives come from replicated alias tables (unigram for QWEM, nu P_i P_j; unigram^0.75
//    with the positive's target word for SGNS), drawn identically on every rank;
//  * QWEM's weight q_ij = c / (P_ij + nu P_i P_j), c = (1 + nu) / V^2 (so E[q] = 1), needs C_ij
//    of the negatives: the rank owning row i looks it up and one MPI_Allreduce shares them.
// Exact data-parallel mode (--sync-every 1): every rank holds a replica of W, the sample list is
// shared, each rank accumulates the gradient of the rows it owns (i mod P) in sample order, and
// the updated rows are all-gathered: the result is bit-identical on any number of ranks.
// Local SGD (--sync-every K > 1): each rank steps its replica with its own samples (gradient
// scaled to the global batch) and the replicas are averaged every K steps (K = 1 would equal the
// exact mode); trajectories then depend on the rank count.
#include <algorithm>
#include <cmath>

#include "qwem/pair_stats.hpp"
#include "qwem/random.hpp"
#include "trainer_strategies.hpp"

namespace qwem {

namespace {

inline double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double Sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

// Loss and derivative of one pair with score x.
inline void PairLoss(LossKind loss, bool positive, double x, double* l, double* dl) {
  if (loss == LossKind::kQwem) {
    *l = (positive ? -x : x) + 0.25 * x * x;
    *dl = (positive ? -1.0 : 1.0) + 0.5 * x;
  } else {
    *l = Softplus(positive ? -x : x);
    *dl = positive ? -Sigmoid(-x) : Sigmoid(x);
  }
}

inline double Dot(const double* a, const double* b, int d) {
  double s = 0;
  for (int k = 0; k < d; ++k) s += a[k] * b[k];
  return s;
}

inline void Axpy(double g, const double* x, double* y, int d) {
  for (int k = 0; k < d; ++k) y[k] += g * x[k];
}

// C_ij from this rank's CSR rows (0 if absent or not owned).
double LookupCount(const CooccurrenceRows& c, word_id_t i, word_id_t j) {
  if (i < c.row_begin || i >= c.row_end) return 0;
  const global_int_t r = i - c.row_begin;
  const auto* b = c.cols.data() + c.row_ptr[r];
  const auto* e = c.cols.data() + c.row_ptr[r + 1];
  const auto* it = std::lower_bound(b, e, j);
  if (it == e || *it != j) return 0;
  return static_cast<double>(c.values[it - c.cols.data()]);
}

class PairTrainer final : public Trainer {
 public:
  PairTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& counts, const Vocabulary& vocab);

  void Initialize() override {
    W_ = InitialRows(setup_.train.seed, setup_.train.EntryStd(d_), 0, n_words_, d_);
    step_ = 0;
  }
  void Restore(global_int_t step, const std::vector<double>& local_rows, const std::vector<double>&) override;
  void Step() override;
  // The loss since the last call: sgd-qwem estimates ||M* - W W^T||_F^2 / V^2 from the sampled
  // pairs (4 / (1 + nu) times the mean weighted pair loss per positive, plus ||M*||_F^2 / V^2);
  // sgd-sgns is the mean SGNS loss per positive (its negatives included).
  double TakeLoss() override;
  // sgd-qwem: tau = 2 c sum eta (the batch-mean loss); sgd-sgns the same times 1/2 (the
  // quadratic term of SGNS's loss is half QWEM's: a qualitative guide only).
  double Tau(global_int_t t) const override { return TauPerRate(setup_, n_words_) * SumOfRates(t); }
  double LocalUpdates() const override { return total_updates_; }
  LocalRows Rows() const override {
    return LocalRows{W_.data() + static_cast<std::size_t>(row_begin_) * d_, row_begin_, row_end_, n_words_, d_};
  }

 private:
  struct Pair {
    word_id_t i = -1, j = -1;
    double weight = 0;  // q (times nu / K for QWEM negatives); SGNS: 1
    bool mine = false;  // local SGD: drawn here
  };
  void DrawPositives();
  void DrawNegatives();
  void SyncReplicas();
  bool exact() const { return setup_.train.sync_every == 1; }

  const CooccurrenceRows& counts_;
  const TrainOptions& opt_;  // setup_.train
  PairStatistics stats_;
  double c_ = 0;              // of the QWEM reweighting
  std::vector<double> keep_;  // sgns subsampling keep probabilities
  AliasTable negative_table_;
  double mstar_norm2_ = 0;
  // Positive sampling: this rank's slice [weight_begin_, weight_begin_ + cumulative_.back()).
  std::vector<global_int_t> cumulative_;
  global_int_t weight_begin_ = 0, weight_total_ = 0;
  std::vector<double> W_;  // the replica, V x d
  std::vector<double> G_;  // gradient of the rows updated here (exact: owned rows, slot i / P)
  std::vector<unsigned char> touched_;
  std::vector<word_id_t> touched_list_;
  std::vector<Pair> positives_, negatives_;
  std::vector<double> lookup_;
  double loss_sum_ = 0, n_positive_ = 0;  // this rank's share since the last TakeLoss
  double total_updates_ = 0;
};

PairTrainer::PairTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& counts,
                         const Vocabulary& vocab)
    : Trainer(comm, setup, counts), counts_(counts), opt_(setup_.train), stats_(counts, vocab) {
  c_ = ReweightConstant(setup_.nu, n_words_);
  std::vector<double> weights(stats_.unigram);
  if (opt_.loss == LossKind::kSgns)
    for (auto& w : weights) w = std::pow(w, kNegativePower);
  negative_table_ = AliasTable(weights);
  keep_.assign(n_words_, 1.0);
  if (opt_.loss == LossKind::kSgns)
    for (global_int_t i = 0; i < n_words_; ++i) keep_[i] = KeepProbability(stats_.unigram[i], opt_.subsample);
  mstar_norm2_ = MStarNormSquared(comm_, counts, stats_, setup_.nu);
  // Positive sampling slice: this rank's entries of C in global row-major order.
  cumulative_.resize(counts.values.size());
  global_int_t run = 0;
  for (std::size_t k = 0; k < counts.values.size(); ++k) cumulative_[k] = run += counts.values[k];
  QWEM_MPI(MPI_Exscan(&run, &weight_begin_, 1, MPI_INT64_T, MPI_SUM, comm_));
  if (rank_ == 0) weight_begin_ = 0;
  QWEM_MPI(MPI_Allreduce(&run, &weight_total_, 1, MPI_INT64_T, MPI_SUM, comm_));
  if (weight_total_ <= 0) throw Error("the corpus has no co-occurring pairs to train on");

  W_.assign(static_cast<std::size_t>(n_words_) * d_, 0.0);
  const global_int_t n_slots = exact() ? std::max<global_int_t>((n_words_ - rank_ + size_ - 1) / size_, 0) : n_words_;
  G_.assign(static_cast<std::size_t>(n_slots) * d_, 0.0);
  touched_.assign(n_slots, 0);
  positives_.resize(opt_.batch);
  negatives_.resize(static_cast<std::size_t>(opt_.batch) * opt_.negatives);
  lookup_.resize(negatives_.size());
}

void PairTrainer::Restore(global_int_t step, const std::vector<double>& local_rows, const std::vector<double>&) {
  if (static_cast<global_int_t>(local_rows.size()) != (row_end_ - row_begin_) * d_)
    throw std::runtime_error("PairTrainer::Restore: wrong number of rows");
  step_ = step;
  // Every rank's rows, in row order, into the replica.
  std::vector<int> sizes(size_), displs(size_);
  for (int r = 0; r < size_; ++r) {
    sizes[r] = static_cast<int>((counts_.row_ranges[r + 1] - counts_.row_ranges[r]) * d_);
    displs[r] = static_cast<int>(counts_.row_ranges[r] * d_);
  }
  QWEM_MPI(MPI_Allgatherv(local_rows.data(), sizes[rank_], MPI_DOUBLE, W_.data(), sizes.data(), displs.data(),
                          MPI_DOUBLE, comm_));
}

void PairTrainer::DrawPositives() {
  struct Drawn {
    std::int32_t s, i, j, pad;
    global_int_t count;
  };
  std::vector<Drawn> mine;
  const global_int_t local_total = cumulative_.empty() ? 0 : cumulative_.back();
  const global_int_t B = opt_.batch;
  // This rank's draws, sorted by position, are found in one forward walk over the cumulative
  // counts (galloping from the previous hit) instead of one binary search each over all of
  // them: a random search touches ~log2(nnz) cache lines, the walk mostly nearby ones. The
  // order of `mine` does not matter (samples are placed by their index s).
  std::vector<std::pair<global_int_t, global_int_t>> wanted;  // (position w, sample s)
  for (global_int_t s = 0; s < B; ++s) {
    const global_int_t w = Scale(CounterRandom(opt_.seed, step_, s, 0), weight_total_) - weight_begin_;
    if (w >= 0 && w < local_total) wanted.emplace_back(w, s);
  }
  std::sort(wanted.begin(), wanted.end());
  const global_int_t* cum = cumulative_.data();
  const auto n = static_cast<global_int_t>(cumulative_.size());
  global_int_t idx = 0, row = 0;
  for (const auto& [w, s] : wanted) {
    // First idx >= the current one with cum[idx] > w.
    global_int_t lo = idx, step = 1;
    while (lo + step < n && cum[lo + step] <= w) {
      lo += step;
      step *= 2;
    }
    idx = std::upper_bound(cum + lo, cum + std::min(n, lo + step + 1), w) - cum;
    while (counts_.row_ptr[row + 1] <= idx) ++row;
    mine.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(counts_.row_begin + row), counts_.cols[idx],
                    0, counts_.values[idx]});
  }
  for (auto& p : positives_) p = Pair{};
  std::vector<Drawn> all;
  const std::vector<Drawn>* drawn = &mine;
  if (exact()) {
    // Exact mode: every rank gets the whole batch.
    all = AllgatherConcat(comm_, mine.data(), mine.size());
    drawn = &all;
  }
  for (const Drawn& x : *drawn) {
    Pair& p = positives_[x.s];
    p.mine = true;
    if (opt_.loss == LossKind::kSgns) {
      if (opt_.subsample > 0 && ToUnit(CounterRandom(opt_.seed, step_, x.s, 1)) >= keep_[x.i] * keep_[x.j]) continue;
      p.weight = 1.0;
    } else {
      p.weight = c_ / (stats_.Pij(x.count) + setup_.nu * stats_.unigram[x.i] * stats_.unigram[x.j]);
    }
    p.i = x.i;
    p.j = x.j;
  }
}

void PairTrainer::DrawNegatives() {
  const int K = opt_.negatives;
  const global_int_t B = opt_.batch;
  for (global_int_t s = 0; s < B; ++s) {
    const Pair& pos = positives_[s];
    for (int k = 0; k < K; ++k) {
      Pair& n = negatives_[s * K + k];
      n = Pair{};
      if (opt_.loss == LossKind::kQwem) {
        n.i = negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 2 + 2 * k));
        n.j = negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 3 + 2 * k));
        n.mine = pos.mine;
        lookup_[s * K + k] = LookupCount(counts_, n.i, n.j);
      } else if (pos.i >= 0) {
        n.i = pos.i;
        n.j = negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 3 + 2 * k));
        n.mine = pos.mine;
        n.weight = 1.0;
      }
    }
  }
  if (opt_.loss != LossKind::kQwem || negatives_.empty()) return;
  // C_ij of the QWEM negatives: each row's owner has it, the others contribute 0 (exact sum).
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, lookup_.data(), static_cast<int>(lookup_.size()), MPI_DOUBLE, MPI_SUM, comm_));
  for (std::size_t k = 0; k < negatives_.size(); ++k) {
    Pair& n = negatives_[k];
    const double pij = lookup_[k] / stats_.pair_norm;
    n.weight = setup_.nu / K * c_ / (pij + setup_.nu * stats_.unigram[n.i] * stats_.unigram[n.j]);
  }
}

void PairTrainer::Step() {
  DrawPositives();
  DrawNegatives();
  const double eta = LearningRate(step_);
  const int d = d_, K = opt_.negatives;
  const global_int_t B = opt_.batch;
  const bool exact_mode = exact();
  const double scale = exact_mode ? 1.0 / B : static_cast<double>(size_) / B;
  double* W = W_.data();
  double* G = G_.data();
  double n_updates = 0;
  auto slot = [&](word_id_t i) -> global_int_t { return exact_mode ? i / size_ : i; };
  auto owns = [&](word_id_t i) { return !exact_mode || i % size_ == rank_; };
  auto process = [&](const Pair& p, bool positive) {
    if (p.i < 0 || !p.mine) return;
    const bool oi = owns(p.i), oj = owns(p.j);
    if (!oi && !oj) return;
    const double* wi = W + static_cast<std::size_t>(p.i) * d;
    const double* wj = W + static_cast<std::size_t>(p.j) * d;
    double l, dl;
    PairLoss(opt_.loss, positive, Dot(wi, wj, d), &l, &dl);
    const double g = dl * p.weight * scale;
    if (oi) {
      const global_int_t si = slot(p.i);
      Axpy(g, wj, G + si * d, d);
      if (!touched_[si]) touched_[si] = 1, touched_list_.push_back(p.i);
      loss_sum_ += l * p.weight;
      n_positive_ += positive ? 1 : 0;
    }
    if (oj) {
      const global_int_t sj = slot(p.j);
      Axpy(g, wi, G + sj * d, d);
      if (!touched_[sj]) touched_[sj] = 1, touched_list_.push_back(p.j);
    }
    // Counted once per pair, by the owner of row i (the owner of j may compute it too).
    if (oi) n_updates += 1;
  };
  // Samples in canonical order: positive s, then its negatives. Every row's gradient is summed
  // in this order whichever rank owns it, so W is bit-identical on any number of ranks.
  for (global_int_t s = 0; s < B; ++s) {
    if (positives_[s].i < 0) continue;
    process(positives_[s], true);
    for (int k = 0; k < K; ++k) process(negatives_[s * K + k], false);
  }
  for (word_id_t i : touched_list_) {
    const global_int_t si = slot(i);
    double* w = W + static_cast<std::size_t>(i) * d;
    double* g = G + si * d;
    for (int k = 0; k < d; ++k) {
      w[k] -= eta * g[k];
      g[k] = 0;
    }
    touched_[si] = 0;
  }
  if (exact_mode) {
    // Share the updated rows: ids, then rows, in rank order.
    const std::size_t n = touched_list_.size();
    const std::vector<word_id_t> ids = AllgatherConcat(comm_, touched_list_.data(), n);
    std::vector<double> send(n * d);
    for (std::size_t k = 0; k < n; ++k)
      std::copy_n(W + static_cast<std::size_t>(touched_list_[k]) * d, d, send.data() + k * d);
    const std::vector<double> rows = AllgatherConcat(comm_, send.data(), send.size());
    const auto total = static_cast<int>(ids.size());
    for (int k = 0; k < total; ++k)
      if (ids[k] % size_ != rank_)
        std::copy_n(rows.data() + static_cast<std::size_t>(k) * d, d, W + static_cast<std::size_t>(ids[k]) * d);
  }
  total_updates_ += n_updates;
  touched_list_.clear();
  ++step_;
  if (!exact_mode && step_ % opt_.sync_every == 0) SyncReplicas();
}

void PairTrainer::SyncReplicas() {
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, W_.data(), static_cast<int>(W_.size()), MPI_DOUBLE, MPI_SUM, comm_));
  const double inv = 1.0 / size_;
  for (double& w : W_) w *= inv;
}

double PairTrainer::TakeLoss() {
  double v[2] = {loss_sum_, n_positive_};
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, comm_));
  loss_sum_ = n_positive_ = 0;
  if (v[1] <= 0) return std::nan("");
  const double mean = v[0] / v[1];
  if (opt_.loss == LossKind::kQwem)
    return 4.0 / (1.0 + setup_.nu) * mean +
           mstar_norm2_ / (static_cast<double>(n_words_) * static_cast<double>(n_words_));
  return mean;
}

}  // namespace

std::unique_ptr<Trainer> CreatePairTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs) {
  return std::make_unique<PairTrainer>(comm, setup, inputs.counts, inputs.vocab);
}

}  // namespace qwem
