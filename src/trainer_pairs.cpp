// pairs: data-parallel SGD on pairs drawn from P_ij, one tied W (the theory's setting).
//
// Sampling is keyed by (seed, step, sample index), never by rank, so for a fixed seed and
// global batch the trajectory does not depend on the number of ranks:
//  * a positive pair is drawn from P_ij, the windowed (L+1-j)-weighted pair distribution, in two
//    exact alias draws (pair_sampling.hpp): its row i on every rank, its column j by the rank that
//    owns row i of C, which knows C_ij;
//  * negatives come from a replicated alias table (the unigram, smoothed towards uniform with
//    --negative-smoothing, or unigram^0.75 for --weights sampled), paired iid (both words drawn)
//    or with the positive's target word, drawn identically on every rank; or shared
//    (--negative-pairing shared): the positives of one word grouped (by word, then sample order,
//    at most --negative-group each), the group's K words drawn once (keyed by its first sample),
//    positive (i, j) paired with (j, n_k) (shared_kernel.hpp, whose kernel then computes the step);
//  * the weights (--weights, options.hpp): qwem's q_ij = c / (P_ij + nu P_i P_j), c = (1 + nu) /
//    V^2 (so E[q] = 1), needs C_ij of the negatives: the rank owning row min(i, j) looks it up
//    (C is symmetric; LookUpCounts) and one MPI_Allreduce shares them; word2vec's importance
//    weights need only the unigram; sampled is word2vec's subsampling by discarding, weight 1.
// Exact data-parallel mode (--sync-every 1): every rank holds a replica of W, the sample list is
// shared, each rank computes the gradient of the rows it owns (a contiguous block balanced by
// expected work), each row's terms summed in sample order (pair_kernel.hpp), and the blocks are
// all-gathered in place: the result is bit-identical on any number of ranks.
// --pair-precision single: the kernel reads a float copy of W (pair_kernel.hpp), a function of W
// (so resume and rank-independence hold as in double); on several ranks the exact mode then
// all-gathers the copy's blocks, half the bytes of W's (ShareBlocks).
// Local SGD (--sync-every K > 1): each rank steps its replica with its own samples (gradient
// scaled to the global batch) and the replicas are averaged every K steps (K = 1 would equal the
// exact mode); trajectories then depend on the rank count.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "qwem/pair_kernel.hpp"
#include "qwem/pair_sampling.hpp"
#include "qwem/pair_stats.hpp"
#include "qwem/random.hpp"
#include "qwem/shared_kernel.hpp"
#include "trainer_strategies.hpp"

namespace qwem {

namespace {

// Lanes of a positive's draws beyond lane 0 (lanes 1 .. 2K + 1 serve subsampling and negatives).
constexpr std::uint64_t kPositiveLane = std::uint64_t{1} << 40;

class PairTrainer final : public Trainer {
 public:
  PairTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& counts, const Vocabulary& vocab);

  void Initialize() override {
    W_ = InitialRows(setup_.train.seed, setup_.train.EntryStd(d_), 0, n_words_, d_);
    step_ = 0;
    RefreshSingle();
  }
  void Restore(global_int_t step, const std::vector<double>& local_rows, const std::vector<double>&) override;
  void Step() override;
  // The loss since the last call: sgd-qwem with qwem weights estimates ||M* - W W^T||_F^2 / V^2
  // from the sampled pairs (4 / (1 + nu) times the mean weighted pair loss per positive, plus
  // ||M*||_F^2 / V^2); otherwise it is the mean weighted pair loss per positive (its negatives
  // included).
  double TakeLoss() override;
  // sgd-qwem: tau = 2 c sum eta (the batch-mean loss); sgd-sgns the same times 1/2 (the
  // quadratic term of SGNS's loss is half QWEM's: a qualitative guide only).
  double Tau(global_int_t t) const override { return TauPerRate(setup_, n_words_) * SumOfRates(t); }
  double LocalUpdates() const override { return total_updates_; }
  std::vector<PhaseSeconds> StepPhases() const override {
    return {{"sample", phase_seconds_[kSample]},
            {"gradient", phase_seconds_[kGradient]},
            {"step", phase_seconds_[kDescend]},
            {"exchange", phase_seconds_[kExchange]}};
  }
  LocalRows Rows() const override {
    return LocalRows{W_.data() + static_cast<std::size_t>(row_begin_) * d_, row_begin_, row_end_, n_words_, d_};
  }

 private:
  // A positive as drawn: sample index, row, column and C_ij; and, on the row's owner, what the
  // column draw needs.
  struct Drawn {
    std::int32_t s, i, j, pad;
    global_int_t count;
  };
  struct Owned {
    global_int_t s;
    word_id_t i;
    std::uint64_t r1, r2;
  };
  struct Pair {
    word_id_t i = -1, j = -1;
    double weight = 0;  // SampleWeights' Positive or Negative
    bool mine = false;  // local SGD: drawn here
  };
  // A pair whose C_ij a negative's weight needs.
  struct Query {
    word_id_t i, j;
  };
  void DrawPositives();
  // Collective if the weights need C_ij (qwem weights). Per-pair negatives into negatives_, each
  // positive's K in its slots s K .. s K + K - 1; shared negatives straight into shared_batch_.
  void DrawNegatives();
  void DrawSharedNegatives();
  // Collective. lookup_[k] = C_ij of query[k] = (i, j) (0 for an empty slot, i < 0) on every rank,
  // whose lists have the same length: one rank looks each pair up, and one MPI_Allreduce sums
  // them. If every rank holds every pair (everywhere), that is the owner of row min(i, j)
  // (C_ij = C_ji); else each pair must be held (i >= 0) by the owner of row i, -1 elsewhere.
  void LookUpCounts(const std::vector<Query>& query, bool everywhere);
  // Shared negatives: the positives grouped by word into shared_batch_ (word, start) and
  // group_order_ (their sample indices, group by group).
  void GroupPositives();
  bool shared() const { return opt_.pairing == NegativePairing::kShared; }
  // word2vec's subsampling by discarding (--weights sampled, --subsample > 0): positive s is kept
  // if KeepDraw(s) < keep_i keep_j. The early discard (>= keep_i, before j is drawn) must compare
  // the same draw.
  bool Subsampled() const { return opt_.weights == PairWeights::kSampled && opt_.subsample > 0; }
  double KeepDraw(global_int_t s) const { return ToUnit(CounterRandom(opt_.seed, step_, s, 1)); }
  // This rank's gradient of the step's batch (scale: of the batch-mean): the pair kernel's on
  // the batch as a list of pairs, or the shared-negatives kernel's on its groups.
  PairBatchTotals PairGradient(double scale);
  PairBatchTotals SharedGradient(double scale);
  void SyncReplicas();
  bool single() const { return opt_.precision == PairPrecision::kSingle; }
  // The float copy of every row (single precision; no-op in double).
  void RefreshSingle() {
    if (single()) ToSingle(W_.data(), 0, static_cast<word_id_t>(n_words_), d_, Ws_.data());
  }
  // Exact mode on several ranks: every rank's stepped block of rows to the others.
  void ShareBlocks();
  bool exact() const { return setup_.train.sync_every == 1; }
  std::vector<word_id_t> BalancedRows() const;

  const CooccurrenceRows& counts_;
  const TrainOptions& opt_;  // setup_.train
  PairStatistics stats_;
  SampleWeights weights_;
  AliasTable negative_table_;
  double mstar_norm2_ = 0;
  PositiveSampler positive_sampler_;
  CountLookup lookup_count_;  // C_ij of the negatives under qwem weights (this rank's rows)
  std::vector<double> W_;     // the replica, V x d
  // Its float copy (--pair-precision single). In exact mode on several ranks, W_ is then
  // current only in this rank's counts rows and its own block (ShareBlocks).
  std::vector<float> Ws_;
  std::vector<Pair> positives_, negatives_;
  std::vector<Drawn> drawn_mine_, drawn_all_;
  std::vector<Owned> drawn_owned_;
  std::vector<WeightedPair> batch_;  // both, in canonical order (the per-pair kernel's input)
  // Exact mode: rank r computes and updates rows [owned_rows_[r], owned_rows_[r + 1]).
  std::vector<word_id_t> owned_rows_;
  PairGradients gradients_;  // of the rows updated here (local SGD: all)
  // Shared negatives: the batch as groups, and their kernel's gradients (instead of gradients_).
  SharedBatch shared_batch_;
  std::vector<std::int32_t> group_order_, word_count_;
  std::unique_ptr<SharedGradients> shared_gradients_;
  std::vector<Query> query_;              // the pairs whose C_ij the lookups take, per negative
  std::vector<Query> query_all_;          // local SGD, shared negatives: every rank's query_
  std::vector<double> lookup_;            // their C_ij
  std::vector<global_int_t> lookup_at_;   // their places in C (CountLookup::Find)
  double loss_sum_ = 0, n_positive_ = 0;  // this rank's share since the last TakeLoss
  // Seconds in each part of Step (StepPhases): the draws with their lookups and collectives, the
  // batch and its kernel (with the shared kernel's all-gather), the step on the rows, and the
  // exchange of rows between the ranks (exact mode) or replicas (local SGD).
  enum Phase { kSample, kGradient, kDescend, kExchange, kPhases };
  std::array<double, kPhases> phase_seconds_{};
  double total_updates_ = 0;
};

PairTrainer::PairTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& counts,
                         const Vocabulary& vocab)
    : Trainer(comm, setup, counts),
      counts_(counts),
      opt_(setup_.train),
      stats_(counts, vocab),
      weights_(setup.train.weights, stats_.unigram, stats_.pair_norm, ReweightConstant(setup.nu, counts.n_words),
               setup.train.subsample, setup.nu, setup.train.negatives, setup.train.negative_smoothing,
               setup.train.pairing),
      positive_sampler_(comm, counts),
      lookup_count_(counts),
      owned_rows_(exact() ? BalancedRows() : std::vector<word_id_t>{0, static_cast<word_id_t>(n_words_)}),
      gradients_(d_, exact() ? RowOwnership{owned_rows_[rank_], owned_rows_[rank_ + 1]}
                             : RowOwnership{0, static_cast<word_id_t>(n_words_)}) {
  negative_table_ = AliasTable(weights_.NegativeDistribution());
  mstar_norm2_ = MStarNormSquared(comm_, counts, stats_, setup_.nu);
  if (positive_sampler_.Total() <= 0) throw Error("the corpus has no co-occurring pairs to train on");

  W_.assign(static_cast<std::size_t>(n_words_) * d_, 0.0);
  if (single()) Ws_.assign(W_.size(), 0.0f);
  positives_.resize(opt_.batch);
  if (!shared()) negatives_.resize(static_cast<std::size_t>(opt_.batch) * opt_.negatives);
  if (shared()) {
    shared_gradients_ =
        std::make_unique<SharedGradients>(d_,
                                          exact() ? RowOwnership{owned_rows_[rank_], owned_rows_[rank_ + 1]}
                                                  : RowOwnership{0, static_cast<word_id_t>(n_words_)},
                                          opt_.precision);
    word_count_.resize(n_words_ + 1);
  } else {
    batch_.reserve(static_cast<std::size_t>(opt_.batch) * (opt_.negatives + 1));
  }
}

// Contiguous blocks of rows with about equal expected work per step (directed entries of the
// kernel: a row's share of the positives' two ends and of the negatives' ends). Any split gives
// the same W; this one balances the ranks.
std::vector<word_id_t> PairTrainer::BalancedRows() const {
  const std::vector<global_int_t>& totals = positive_sampler_.RowTotals();
  const double T = static_cast<double>(positive_sampler_.Total()), K = opt_.negatives;
  const std::vector<double> negative = weights_.NegativeDistribution();
  const double norm = std::accumulate(negative.begin(), negative.end(), 0.0);
  std::vector<double> cumulative(n_words_ + 1, 0.0);
  for (global_int_t r = 0; r < n_words_; ++r) {
    const double p = static_cast<double>(totals[r]) / T, u = negative[r] / norm;
    const double work = opt_.pairing == NegativePairing::kIid ? 2 * p + 2 * K * u : 2 * p + K * (p + u);
    cumulative[r + 1] = cumulative[r] + work;
  }
  std::vector<word_id_t> bounds(size_ + 1, static_cast<word_id_t>(n_words_));
  bounds[0] = 0;
  for (int r = 1; r < size_; ++r)
    bounds[r] = static_cast<word_id_t>(
        std::lower_bound(cumulative.begin(), cumulative.end(), cumulative.back() * r / size_) - cumulative.begin());
  for (int r = 1; r <= size_; ++r) bounds[r] = std::max(bounds[r], bounds[r - 1]);
  return bounds;
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
  RefreshSingle();
}

void PairTrainer::DrawPositives() {
  // Every rank draws each sample's row (a replicated table); the row's owner draws its column.
  // In a pipeline (PrefetchPipeline), so that the scattered loads of many samples are in flight
  // at once: each column draw reads one bucket of its row's table. The buffers live
  // across steps (fresh pages each step cost more than the draws). Subsampling's discards that
  // the row alone decides (u >= keep_i) are dropped before the column draw: the same positives
  // are kept, without the column's cache misses for the rest (most of the draws at 1e-4).
  std::vector<Drawn>& mine = drawn_mine_;
  std::vector<Owned>& owned = drawn_owned_;
  mine.clear();
  owned.clear();
  for (global_int_t s = 0; s < opt_.batch; ++s) {
    const word_id_t i =
        positive_sampler_.Row(CounterRandom(opt_.seed, step_, s, 0), CounterRandom(opt_.seed, step_, s, kPositiveLane));
    if (i < counts_.row_begin || i >= counts_.row_end) continue;
    if (Subsampled() && KeepDraw(s) >= weights_.KeepBound(i)) continue;
    const Owned o{s, i, CounterRandom(opt_.seed, step_, s, kPositiveLane + 1),
                  CounterRandom(opt_.seed, step_, s, kPositiveLane + 2)};
    owned.push_back(o);
  }
  PrefetchPipeline(
      owned.size(), [&](std::size_t k) { positive_sampler_.PrefetchColumn(owned[k].i, owned[k].r1); },
      [](std::size_t) {},  // (one load per draw: no middle stage, its bucket read two chunks later)
      [&](std::size_t k) {
        const Owned& o = owned[k];
        const DrawnColumn c = positive_sampler_.Column(o.i, o.r1, o.r2);
        mine.push_back({static_cast<std::int32_t>(o.s), o.i, c.j, 0, c.count});
      });
  for (auto& p : positives_) p = Pair{};
  const std::vector<Drawn>* drawn = &mine;
  if (exact() && size_ > 1) {
    // Exact mode: every rank gets the whole batch.
    AllgatherConcat(comm_, mine.data(), mine.size(), &drawn_all_);
    drawn = &drawn_all_;
  }
  for (const Drawn& x : *drawn) {
    Pair& p = positives_[x.s];
    p.mine = true;
    // Subsampling by discarding (sampled weights), then the weight.
    if (Subsampled() && KeepDraw(x.s) >= weights_.Keep(x.i, x.j)) continue;
    p.weight = weights_.Positive(x.i, x.j, x.count);
    p.i = x.i;
    p.j = x.j;
  }
}

void PairTrainer::GroupPositives() {
  // A counting sort of the positives by word (stable: sample order within a word), then chunks.
  std::fill(word_count_.begin(), word_count_.end(), 0);
  for (const Pair& p : positives_)
    if (p.i >= 0) ++word_count_[p.i + 1];
  std::partial_sum(word_count_.begin(), word_count_.end(), word_count_.begin());
  group_order_.resize(static_cast<std::size_t>(word_count_.back()));
  for (std::size_t s = 0; s < positives_.size(); ++s)
    if (positives_[s].i >= 0) group_order_[word_count_[positives_[s].i]++] = static_cast<std::int32_t>(s);
  // word_count_[i] is now the end of word i's positives.
  shared_batch_.Clear(opt_.negatives);
  std::int32_t a = 0;
  for (word_id_t i = 0; i < n_words_; ++i)
    for (; a < word_count_[i]; a = std::min(a + opt_.negative_group, word_count_[i])) {
      shared_batch_.word.push_back(i);
      shared_batch_.start.push_back(std::min(a + opt_.negative_group, word_count_[i]));
    }
}

void PairTrainer::DrawNegatives() {
  if (shared()) return DrawSharedNegatives();
  const int K = opt_.negatives;
  const global_int_t B = opt_.batch;
  const bool counts = weights_.NeedsNegativeCounts();
  // Negative (i, j) of a positive's k-th slot, and its weight unless it needs C_ij (below).
  auto place = [&](Pair& n, word_id_t i, word_id_t j, bool mine) {
    n.i = i;
    n.j = j;
    n.mine = mine;
    if (!counts) n.weight = weights_.Negative(n.i, n.j, 0);
  };
  for (Pair& n : negatives_) n = Pair{};
  for (global_int_t s = 0; s < B; ++s) {
    const Pair& pos = positives_[s];
    for (int k = 0; k < K; ++k) {
      if (opt_.pairing == NegativePairing::kIid)
        place(negatives_[s * K + k], negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 2 + 2 * k)),
              negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 3 + 2 * k)), pos.mine);
      else if (pos.i >= 0)
        place(negatives_[s * K + k], pos.i, negative_table_.Draw(CounterRandom(opt_.seed, step_, s, 3 + 2 * k)),
              pos.mine);
    }
  }
  if (!counts || negatives_.empty()) return;
  // In local SGD a rank holds only the negatives of its own positives: with target pairing they
  // lie in the positive's row, which it owns; iid negatives are drawn on every rank.
  query_.resize(negatives_.size());
  for (std::size_t k = 0; k < negatives_.size(); ++k) query_[k] = {negatives_[k].i, negatives_[k].j};
  LookUpCounts(query_, exact() || opt_.pairing == NegativePairing::kIid);
  for (std::size_t k = 0; k < negatives_.size(); ++k) {
    Pair& n = negatives_[k];
    if (n.i >= 0) n.weight = weights_.Negative(n.i, n.j, static_cast<global_int_t>(lookup_[k]));
  }
}

void PairTrainer::DrawSharedNegatives() {
  const int K = opt_.negatives;
  const bool counts = weights_.NeedsNegativeCounts();
  GroupPositives();
  SharedBatch& batch = shared_batch_;
  // Each group's K words, keyed by its first sample.
  for (std::size_t g = 0; g < batch.Groups(); ++g)
    for (int k = 0; k < K; ++k)
      batch.negative.push_back(static_cast<word_id_t>(
          negative_table_.Draw(CounterRandom(opt_.seed, step_, group_order_[batch.start[g]], 3 + 2 * k))));
  // The negatives' pairs (j_a, n_k), group by group, and their counts. In exact mode every rank
  // holds the same batch. In local SGD a rank holds only its own positives, and a negative's row j
  // may be another rank's: there the ranks' pairs are concatenated first, this rank's from first.
  std::size_t first = 0;
  if (counts) {
    query_.clear();
    for (std::size_t g = 0; g < batch.Groups(); ++g)
      for (std::int32_t a = batch.start[g]; a < batch.start[g + 1]; ++a)
        for (int k = 0; k < K; ++k) query_.push_back({positives_[group_order_[a]].j, batch.negative[g * K + k]});
    if (exact()) {
      LookUpCounts(query_, true);
    } else {
      AllgatherConcat(comm_, query_.data(), query_.size(), &query_all_, &first);
      LookUpCounts(query_all_, true);
    }
  }
  // The batch, group by group: each positive's partner j, its weight, then its negatives' (their
  // counts in query_'s order, from lookup_[first]).
  std::size_t q = first;
  for (std::size_t g = 0; g < batch.Groups(); ++g)
    for (std::int32_t a = batch.start[g]; a < batch.start[g + 1]; ++a) {
      const Pair& pos = positives_[group_order_[a]];
      batch.partner.push_back(pos.j);
      batch.weight.push_back(pos.weight);
      for (int k = 0; k < K; ++k) {
        const global_int_t count = counts ? static_cast<global_int_t>(lookup_[q++]) : 0;
        batch.weight.push_back(weights_.Negative(pos.j, batch.negative[g * K + k], count));
      }
    }
}

void PairTrainer::LookUpCounts(const std::vector<Query>& query, bool everywhere) {
  // C_ij of the pairs on this rank's rows, in a pipeline: the row's bitmap block, then the
  // count's place in C, then the count. C is symmetric, so where it can each pair is looked up
  // in the row of its more frequent word (the smaller id: ids are by frequency), which is dense (a bitmap)
  // far more often than the other word's: a sparse row's binary search is a chain of cache
  // misses (1.3% of the lookups took 1.4-2 ms of a 12 ms sample part; Gutenberg, V = 10k, K = 5).
  auto row = [&](std::size_t k) { return everywhere ? std::min(query[k].i, query[k].j) : query[k].i; };
  auto column = [&](std::size_t k) { return everywhere ? std::max(query[k].i, query[k].j) : query[k].j; };
  lookup_at_.resize(query.size());
  lookup_.resize(query.size());
  PrefetchPipeline(
      query.size(),
      [&](std::size_t k) {
        if (query[k].i >= 0) lookup_count_.Prefetch(row(k), column(k));
      },
      [&](std::size_t k) {
        lookup_at_[k] = query[k].i >= 0 ? lookup_count_.Find(row(k), column(k)) : -1;
        if (lookup_at_[k] >= 0) lookup_count_.PrefetchAt(lookup_at_[k]);
      },
      [&](std::size_t k) {
        lookup_[k] = lookup_at_[k] >= 0 ? static_cast<double>(lookup_count_.At(lookup_at_[k])) : 0.0;
      });
  // Each row's owner has its C_ij, the others contribute 0 (an exact sum).
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, lookup_.data(), static_cast<int>(lookup_.size()), MPI_DOUBLE, MPI_SUM, comm_));
}

void PairTrainer::Step() {
  double t = MPI_Wtime();
  auto lap = [&](Phase phase) {
    const double now = MPI_Wtime();
    phase_seconds_[phase] += now - t;
    t = now;
  };
  DrawPositives();
  DrawNegatives();
  lap(kSample);
  const double scale = exact() ? 1.0 / opt_.batch : static_cast<double>(size_) / opt_.batch;
  const PairBatchTotals totals = shared() ? SharedGradient(scale) : PairGradient(scale);
  loss_sum_ += totals.loss;
  n_positive_ += totals.positives;
  total_updates_ += totals.pairs;
  lap(kGradient);
  // The step, once every score has been taken from the W the step started from.
  float* Ws = single() ? Ws_.data() : nullptr;
  if (shared())
    shared_gradients_->Descend(LearningRate(step_), W_.data(), Ws);
  else
    gradients_.Descend(LearningRate(step_), W_.data(), Ws);
  lap(kDescend);
  if (exact() && size_ > 1) ShareBlocks();
  ++step_;
  if (!exact() && step_ % opt_.sync_every == 0) SyncReplicas();
  lap(kExchange);
}

PairBatchTotals PairTrainer::PairGradient(double scale) {
  const int K = opt_.negatives;
  // The batch in canonical order: positive s, then its negatives (this rank's, in local SGD). The
  // empty ones (discarded by subsampling, or another rank's) are left out: the kernel skips them,
  // and each row's entries keep their order.
  auto take = [&](const Pair& p, bool positive) {
    if (p.i >= 0 && p.mine) batch_.push_back(WeightedPair{p.i, p.j, p.weight, positive});
  };
  batch_.clear();
  for (global_int_t s = 0; s < opt_.batch; ++s) {
    if (positives_[s].i < 0) continue;
    take(positives_[s], true);
    for (int k = 0; k < K; ++k) take(negatives_[s * K + k], false);
  }
  return single() ? gradients_.Compute(Ws_.data(), batch_, opt_.loss, scale)
                  : gradients_.Compute(W_.data(), batch_, opt_.loss, scale);
}

PairBatchTotals PairTrainer::SharedGradient(double scale) {
  // Local SGD: this rank's own positives, every row its own.
  if (!exact()) {
    return single() ? shared_gradients_->Compute(Ws_.data(), shared_batch_, opt_.loss, scale)
                    : shared_gradients_->Compute(W_.data(), shared_batch_, opt_.loss, scale);
  }
  return single() ? ComputeShared(comm_, owned_rows_, *shared_gradients_, Ws_.data(), shared_batch_, opt_.loss, scale)
                  : ComputeShared(comm_, owned_rows_, *shared_gradients_, W_.data(), shared_batch_, opt_.loss, scale);
}

// Double: the blocks of W, all-gathered in place (V d doubles per step whatever the batch
// touched). Single: the blocks of the float copy, all the kernel reads (half the bytes); of W
// only the rows of this rank's counts range (Rows(): records, checkpoints) that another rank
// owns, from that rank. Each rank computes the same overlaps, so every send has its receive.
void PairTrainer::ShareBlocks() {
  const int d = d_;
  std::vector<int> sizes(size_), displs(size_);
  for (int r = 0; r < size_; ++r) {
    sizes[r] = (owned_rows_[r + 1] - owned_rows_[r]) * d;
    displs[r] = owned_rows_[r] * d;
  }
  if (!single()) {
    QWEM_MPI(
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, W_.data(), sizes.data(), displs.data(), MPI_DOUBLE, comm_));
    return;
  }
  QWEM_MPI(
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, Ws_.data(), sizes.data(), displs.data(), MPI_FLOAT, comm_));
  constexpr int kTag = 41;
  std::vector<MPI_Request> requests;
  requests.reserve(2 * static_cast<std::size_t>(size_));
  // The rows [a0, a1) and [b0, b1) share, to or from peer.
  auto exchange = [&](int peer, global_int_t a0, global_int_t a1, global_int_t b0, global_int_t b1, bool send) {
    const global_int_t first = std::max(a0, b0), last = std::min(a1, b1);
    if (first >= last) return;
    double* rows = W_.data() + static_cast<std::size_t>(first) * d;
    const int count = static_cast<int>((last - first) * d);
    requests.emplace_back();
    if (send)
      QWEM_MPI(MPI_Isend(rows, count, MPI_DOUBLE, peer, kTag, comm_, &requests.back()));
    else
      QWEM_MPI(MPI_Irecv(rows, count, MPI_DOUBLE, peer, kTag, comm_, &requests.back()));
  };
  const std::vector<global_int_t>& reports = counts_.row_ranges;  // each rank's Rows()
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    exchange(q, owned_rows_[q], owned_rows_[q + 1], reports[rank_], reports[rank_ + 1], false);
    exchange(q, owned_rows_[rank_], owned_rows_[rank_ + 1], reports[q], reports[q + 1], true);
  }
  QWEM_MPI(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
}

void PairTrainer::SyncReplicas() {
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, W_.data(), static_cast<int>(W_.size()), MPI_DOUBLE, MPI_SUM, comm_));
  const double inv = 1.0 / size_;
  for (double& w : W_) w *= inv;
  RefreshSingle();
}

double PairTrainer::TakeLoss() {
  double v[2] = {loss_sum_, n_positive_};
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, comm_));
  loss_sum_ = n_positive_ = 0;
  if (v[1] <= 0) return std::nan("");
  const double mean = v[0] / v[1];
  if (opt_.loss == LossKind::kQwem && opt_.weights == PairWeights::kQwem)
    return 4.0 / (1.0 + setup_.nu) * mean +
           mstar_norm2_ / (static_cast<double>(n_words_) * static_cast<double>(n_words_));
  return mean;
}

}  // namespace

std::unique_ptr<Trainer> CreatePairTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs) {
  return std::make_unique<PairTrainer>(comm, setup, inputs.counts, inputs.vocab);
}

}  // namespace qwem
