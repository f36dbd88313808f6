#include "qwem/sgd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

extern "C" {
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
            const int* lwork, int* info);
}

namespace qwem {

namespace {

inline std::uint64_t Mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

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

}  // namespace

Sampling ParseSampling(const std::string& name) {
  if (name == "pairs") return Sampling::kPairs;
  if (name == "windows") return Sampling::kWindows;
  throw Error("unknown --sampling '" + name + "' (expected pairs or windows)");
}

TrainMode ParseTrainMode(const std::string& name) {
  if (name == "sgd") return TrainMode::kSgd;
  if (name == "gd") return TrainMode::kGd;
  throw Error("unknown --mode '" + name + "' (expected closed, sgd or gd)");
}

LossKind ParseLossKind(const std::string& name) {
  if (name == "qwem") return LossKind::kQwem;
  if (name == "sgns") return LossKind::kSgns;
  throw Error("unknown --loss '" + name + "' (expected qwem or sgns)");
}

std::string ToString(TrainMode mode) { return mode == TrainMode::kSgd ? "sgd" : "gd"; }
std::string ToString(LossKind loss) { return loss == LossKind::kQwem ? "qwem" : "sgns"; }

std::uint64_t CounterRandom(std::uint64_t seed, std::uint64_t step, std::uint64_t index, std::uint64_t lane) {
  return Mix64(Mix64(Mix64(Mix64(seed) ^ step) ^ index) ^ lane);
}

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  prob_.assign(n, 1.0);
  alias_.resize(n);
  std::iota(alias_.begin(), alias_.end(), 0);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (n == 0 || total <= 0) return;
  std::vector<double> scaled(n);
  std::vector<word_id_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<word_id_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const word_id_t s = small.back(), l = large.back();
    small.pop_back();
    prob_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding.
  for (word_id_t i : small) prob_[i] = 1.0;
  for (word_id_t i : large) prob_[i] = 1.0;
}

word_id_t AliasTable::Draw(std::uint64_t r) const {
  const auto n = static_cast<std::uint64_t>(prob_.size());
  const unsigned __int128 p = static_cast<unsigned __int128>(r) * n;
  const auto column = static_cast<std::size_t>(p >> 64);
  const double frac = static_cast<double>(static_cast<std::uint64_t>(p) >> 11) * 0x1.0p-53;
  return frac < prob_[column] ? static_cast<word_id_t>(column) : alias_[column];
}

Trainer::Trainer(MPI_Comm comm, const TrainOptions& options, const CooccurrenceRows& counts, const Vocabulary& vocab,
                 const Target* target, std::vector<word_id_t> tokens)
    : comm_(comm),
      rank_(CommRank(comm)),
      size_(CommSize(comm)),
      opt_(options),
      counts_(counts),
      target_(target),
      V_(vocab.size()),
      d_(options.dim),
      row_begin_(counts.row_begin),
      row_end_(counts.row_end) {
  if (d_ <= 0) throw Error("--dim must be positive");
  if (opt_.steps < 0) throw Error("--steps must be non-negative");
  if (!(opt_.lr > 0)) throw Error("--lr must be positive");
  c_ = (1.0 + opt_.nu) / (static_cast<double>(V_) * static_cast<double>(V_));
  const global_int_t n_local = row_end_ - row_begin_;

  if (opt_.mode == TrainMode::kGd) {
    if (!target || !target->sparse) throw Error("gd needs the target matrix");
    W_.assign(static_cast<std::size_t>(n_local) * d_, 0.0);
    // ||M*||_F^2 = sum over the nonzeros of (S_ij + c)^2 - c^2, plus V^2 c^2.
    PetscInt rs, re;
    PetscThrow(MatGetOwnershipRange(target->sparse, &rs, &re), "MatGetOwnershipRange");
    const double c = target->rank_one;
    double local = 0;
    for (PetscInt r = rs; r < re; ++r) {
      PetscInt nc;
      const PetscScalar* vals;
      PetscThrow(MatGetRow(target->sparse, r, &nc, nullptr, &vals), "MatGetRow");
      for (PetscInt k = 0; k < nc; ++k) local += (vals[k] + c) * (vals[k] + c) - c * c;
      PetscThrow(MatRestoreRow(target->sparse, r, &nc, nullptr, &vals), "MatRestoreRow");
    }
    QWEM_MPI(MPI_Allreduce(&local, &mstar_norm2_, 1, MPI_DOUBLE, MPI_SUM, comm_));
    mstar_norm2_ += static_cast<double>(V_) * static_cast<double>(V_) * c * c;
    PetscThrow(MatCreateDense(comm_, static_cast<PetscInt>(n_local), PETSC_DECIDE, static_cast<PetscInt>(V_), d_,
                                   nullptr, &W_dense_),
                    "MatCreateDense");
    return;
  }

  if (opt_.batch <= 0) throw Error("--batch must be positive");
  if (opt_.separate_output && opt_.sampling != Sampling::kWindows)
    throw Error("separate output vectors are trained with --sampling windows only");
  if (opt_.sampling == Sampling::kWindows) {
    if (opt_.loss != LossKind::kSgns) throw Error("--sampling windows trains word2vec's loss: use it with --loss sgns");
    if (opt_.sync_every != 1) throw Error("--sampling windows sums the ranks' changes every step: --sync-every must be 1");
    WindowOptions wopt;
    wopt.dim = d_;
    wopt.window = opt_.window;
    wopt.negatives = opt_.negatives;
    wopt.subsample = opt_.subsample;
    wopt.ns_power = opt_.ns_power;
    wopt.seed = opt_.seed;
    wopt.batch = opt_.batch;
    wopt.steps = opt_.steps;
    wopt.lr = opt_.lr;
    wopt.lr_linear = opt_.lr_linear;
    wopt.separate_output = opt_.separate_output;
    wopt.context_group = opt_.context_group;
    windows_ = std::make_unique<WindowSgns>(comm_, wopt, std::move(tokens), vocab.counts);
    W_.assign(static_cast<std::size_t>(n_local) * d_, 0.0);
    return;
  }
  if (opt_.loss == LossKind::kQwem && opt_.negatives < 1) throw Error("--loss qwem needs --negatives >= 1");
  if (opt_.negatives < 0) throw Error("--negatives must be non-negative");
  if (opt_.sync_every <= 0) throw Error("--sync-every must be positive");
  if (opt_.batch * (1 + opt_.negatives) > (global_int_t{1} << 30)) throw Error("--batch times negatives is too large");
  global_int_t n_in_vocab = 0;
  for (global_int_t c : vocab.counts) n_in_vocab += c;
  unigram_.resize(V_);
  for (global_int_t i = 0; i < V_; ++i) unigram_[i] = static_cast<double>(vocab.counts[i]) / n_in_vocab;
  pair_norm_ = static_cast<double>(counts.n_pairs) * (opt_.window + 1) / 2.0;
  std::vector<double> weights(unigram_);
  if (opt_.loss == LossKind::kSgns)
    for (auto& w : weights) w = std::pow(w, opt_.ns_power);
  negative_table_ = AliasTable(weights);
  keep_.assign(V_, 1.0);
  if (opt_.loss == LossKind::kSgns && opt_.subsample > 0)
    for (global_int_t i = 0; i < V_; ++i) {
      const double f = unigram_[i] / opt_.subsample;
      keep_[i] = std::min(1.0, (std::sqrt(f) + 1.0) / f);
    }
  // ||M*||_F^2 from the counts: M*_ij = 2 (P_ij - nu P_i P_j) / (P_ij + nu P_i P_j), -2 off the pattern.
  double local_norm = 0;
  for (global_int_t r = 0; r < counts.n_local_rows(); ++r)
    for (global_int_t k = counts.row_ptr[r]; k < counts.row_ptr[r + 1]; ++k) {
      const double pij = static_cast<double>(counts.values[k]) / pair_norm_;
      const double q = opt_.nu * unigram_[counts.row_begin + r] * unigram_[counts.cols[k]];
      const double m = 2.0 * (pij - q) / (pij + q);
      local_norm += m * m - 4.0;
    }
  QWEM_MPI(MPI_Allreduce(&local_norm, &mstar_norm2_, 1, MPI_DOUBLE, MPI_SUM, comm_));
  mstar_norm2_ += 4.0 * static_cast<double>(V_) * static_cast<double>(V_);
  // Positive sampling slice: this rank's entries of C in global row-major order.
  cumulative_.resize(counts.values.size());
  global_int_t run = 0;
  for (std::size_t k = 0; k < counts.values.size(); ++k) cumulative_[k] = run += counts.values[k];
  QWEM_MPI(MPI_Exscan(&run, &weight_begin_, 1, MPI_INT64_T, MPI_SUM, comm_));
  if (rank_ == 0) weight_begin_ = 0;
  QWEM_MPI(MPI_Allreduce(&run, &weight_total_, 1, MPI_INT64_T, MPI_SUM, comm_));
  if (weight_total_ <= 0) throw Error("the corpus has no co-occurring pairs to train on");

  W_.assign(static_cast<std::size_t>(V_) * d_, 0.0);
  if (opt_.sync_every == 1) {
    const global_int_t n_owned = (V_ - rank_ + size_ - 1) / size_;
    G_.assign(static_cast<std::size_t>(std::max<global_int_t>(n_owned, 0)) * d_, 0.0);
    touched_.assign(std::max<global_int_t>(n_owned, 0), 0);
  } else {
    G_.assign(static_cast<std::size_t>(V_) * d_, 0.0);
    touched_.assign(V_, 0);
  }
  positives_.resize(opt_.batch);
  negatives_.resize(static_cast<std::size_t>(opt_.batch) * opt_.negatives);
  lookup_.resize(negatives_.size());
}

Trainer::~Trainer() {
  if (W_dense_) MatDestroy(&W_dense_);
  if (Y_dense_) MatDestroy(&Y_dense_);
}

void Trainer::Initialize() {
  // Box-Muller on two counter-based uniforms per entry, keyed by (row, column): the same W0 on
  // every rank count.
  const global_int_t r0 = opt_.mode == TrainMode::kGd ? row_begin_ : 0;
  const global_int_t r1 = opt_.mode == TrainMode::kGd ? row_end_ : V_;
  std::vector<double> full;
  double* W = W_.data();
  if (windows_) {
    full.resize(static_cast<std::size_t>(V_) * d_);
    W = full.data();
  }
  for (global_int_t i = r0; i < r1; ++i)
    for (int k = 0; k < d_; ++k) {
      const std::uint64_t key = static_cast<std::uint64_t>(i) * d_ + k;
      const double u1 = 1.0 - ToUnit(CounterRandom(opt_.seed, ~std::uint64_t{0}, key, 0));
      const double u2 = ToUnit(CounterRandom(opt_.seed, ~std::uint64_t{0}, key, 1));
      W[(i - r0) * d_ + k] = opt_.init_scale * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
  if (windows_) windows_->SetW(full.data());
  step_ = 0;
}

void Trainer::Restore(global_int_t step, const std::vector<double>& local_rows,
                      const std::vector<double>& local_output_rows) {
  const global_int_t n_local = row_end_ - row_begin_;
  if (static_cast<global_int_t>(local_rows.size()) != n_local * d_)
    throw std::runtime_error("Trainer::Restore: wrong number of rows");
  step_ = step;
  if (opt_.mode == TrainMode::kGd) {
    W_ = local_rows;
    return;
  }
  std::vector<int> counts(size_), displs(size_);
  for (int r = 0; r < size_; ++r) {
    counts[r] = static_cast<int>((counts_.row_ranges[r + 1] - counts_.row_ranges[r]) * d_);
    displs[r] = static_cast<int>(counts_.row_ranges[r] * d_);
  }
  // Every rank's rows, in row order, into `all` (V x d).
  auto gather = [&](const std::vector<double>& rows, double* all) {
    QWEM_MPI(MPI_Allgatherv(rows.data(), counts[rank_], MPI_DOUBLE, all, counts.data(), displs.data(), MPI_DOUBLE,
                            comm_));
  };
  if (!windows_) {
    gather(local_rows, W_.data());
    return;
  }
  if (has_output_vectors() && local_output_rows.size() != local_rows.size())
    throw std::runtime_error("Trainer::Restore: the output vectors are missing or have the wrong size");
  std::vector<double> full(static_cast<std::size_t>(V_) * d_), full_output;
  gather(local_rows, full.data());
  if (has_output_vectors()) {
    full_output.resize(full.size());
    gather(local_output_rows, full_output.data());
  }
  windows_->SetW(full.data(), full_output.empty() ? nullptr : full_output.data());
}

double Trainer::LearningRate(global_int_t t) const {
  return ScheduledRate(opt_.lr, opt_.lr_linear, static_cast<double>(t), opt_.steps);
}

double Trainer::Tau(global_int_t t) const {
  double sum = 0;
  if (opt_.lr_linear)
    for (global_int_t s = 0; s < t; ++s) sum += LearningRate(s);
  else
    sum = opt_.lr * static_cast<double>(t);
  if (opt_.mode == TrainMode::kGd) return 8.0 * sum / (static_cast<double>(V_) * static_cast<double>(V_));
  // Window sampling: eta is alpha per pair, and a step trains about this many positives.
  if (windows_) sum *= windows_->ExpectedPositivesPerStep();
  return (opt_.loss == LossKind::kQwem ? 2.0 : 1.0) * c_ * sum;
}

void Trainer::Step() {
  if (opt_.mode == TrainMode::kGd) StepGd();
  else if (windows_) windows_->Step(step_);
  else StepSgd();
  ++step_;
  if (opt_.mode == TrainMode::kSgd && opt_.sync_every > 1 && step_ % opt_.sync_every == 0) SyncReplicas();
}

void Trainer::DrawPositives() {
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
    mine.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(counts_.row_begin + row),
                    counts_.cols[idx], 0, counts_.values[idx]});
  }
  for (auto& p : positives_) p = Pair{};
  std::vector<Drawn> all;
  const std::vector<Drawn>* drawn = &mine;
  if (opt_.sync_every == 1) {
    // Exact mode: every rank gets the whole batch.
    all = AllgatherConcat(comm_, mine.data(), mine.size());
    drawn = &all;
  }
  for (const Drawn& x : *drawn) {
    Pair& p = positives_[x.s];
    p.mine = opt_.sync_every == 1 || drawn == &mine;
    if (opt_.loss == LossKind::kSgns) {
      if (opt_.subsample > 0 && ToUnit(CounterRandom(opt_.seed, step_, x.s, 1)) >= keep_[x.i] * keep_[x.j]) continue;
      p.weight = 1.0;
    } else {
      const double pij = static_cast<double>(x.count) / pair_norm_;
      p.weight = c_ / (pij + opt_.nu * unigram_[x.i] * unigram_[x.j]);
    }
    p.i = x.i;
    p.j = x.j;
  }
}

void Trainer::DrawNegatives() {
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
    const double pij = lookup_[k] / pair_norm_;
    n.weight = opt_.nu / K * c_ / (pij + opt_.nu * unigram_[n.i] * unigram_[n.j]);
  }
}

void Trainer::StepSgd() {
  DrawPositives();
  DrawNegatives();
  const double eta = LearningRate(step_);
  const int d = d_, K = opt_.negatives;
  const global_int_t B = opt_.batch;
  const bool exact = opt_.sync_every == 1;
  const double scale = exact ? 1.0 / B : static_cast<double>(size_) / B;
  double* W = W_.data();
  double* G = G_.data();
  auto slot = [&](word_id_t i) -> global_int_t { return exact ? i / size_ : i; };
  auto owns = [&](word_id_t i) { return !exact || i % size_ == rank_; };
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
      counters_.loss_sum += l * p.weight;
      counters_.n_positive += positive ? 1 : 0;
    }
    if (oj) {
      const global_int_t sj = slot(p.j);
      Axpy(g, wi, G + sj * d, d);
      if (!touched_[sj]) touched_[sj] = 1, touched_list_.push_back(p.j);
    }
    // Counted once per pair, by the owner of row i (the owner of j may compute it too).
    if (oi) counters_.n_updates += 1;
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
  if (exact) {
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
  total_updates_ += counters_.n_updates;
  counters_.n_updates = 0;
  touched_list_.clear();
}

void Trainer::SyncReplicas() {
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, W_.data(), static_cast<int>(W_.size()), MPI_DOUBLE, MPI_SUM, comm_));
  const double inv = 1.0 / size_;
  for (double& w : W_) w *= inv;
}

void Trainer::StepGd() {
  const int n = static_cast<int>(row_end_ - row_begin_), d = d_;
  const double eta = LearningRate(step_);
  // W (row-major, n x d) into the dense PETSc matrix (column-major), then Y = S W.
  PetscScalar* a;
  PetscInt lda;
  PetscThrow(MatDenseGetLDA(W_dense_, &lda), "MatDenseGetLDA");
  PetscThrow(MatDenseGetArrayWrite(W_dense_, &a), "MatDenseGetArrayWrite");
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < d; ++k) a[r + static_cast<std::size_t>(k) * lda] = W_[static_cast<std::size_t>(r) * d + k];
  PetscThrow(MatDenseRestoreArrayWrite(W_dense_, &a), "MatDenseRestoreArrayWrite");
  PetscThrow(MatMatMult(target_->sparse, W_dense_, Y_dense_ ? MAT_REUSE_MATRIX : MAT_INITIAL_MATRIX, PETSC_DEFAULT,
                             &Y_dense_),
                  "MatMatMult");
  // 1^T W and the Gram matrix W^T W, all-reduced.
  std::vector<double> reduce(static_cast<std::size_t>(d) * d + d + 1, 0.0);
  double* gram = reduce.data();
  double* colsum = gram + static_cast<std::size_t>(d) * d;
  const double one = 1, zero = 0;
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, W_.data(), &d, W_.data(), &d, &zero, gram, &d);
  for (int r = 0; r < n; ++r) Axpy(1.0, W_.data() + static_cast<std::size_t>(r) * d, colsum, d);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, reduce.data(), d * d + d, MPI_DOUBLE, MPI_SUM, comm_));
  // M* W = S W + c 1 (1^T W), row-major; trace(W^T M* W) for the loss.
  std::vector<double> mw(static_cast<std::size_t>(n) * d), wg(static_cast<std::size_t>(n) * d);
  const PetscScalar* y;
  PetscInt ldy;
  PetscThrow(MatDenseGetLDA(Y_dense_, &ldy), "MatDenseGetLDA");
  PetscThrow(MatDenseGetArrayRead(Y_dense_, &y), "MatDenseGetArrayRead");
  double trace = 0;
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < d; ++k) {
      const std::size_t at = static_cast<std::size_t>(r) * d + k;
      mw[at] = y[r + static_cast<std::size_t>(k) * ldy] + target_->rank_one * colsum[k];
      trace += W_[at] * mw[at];
    }
  PetscThrow(MatDenseRestoreArrayRead(Y_dense_, &y), "MatDenseRestoreArrayRead");
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &trace, 1, MPI_DOUBLE, MPI_SUM, comm_));
  double gram2 = 0;
  for (int k = 0; k < d * d; ++k) gram2 += gram[k] * gram[k];
  const double v2 = static_cast<double>(V_) * static_cast<double>(V_);
  counters_.loss_sum += (mstar_norm2_ - 2.0 * trace + gram2) / v2;
  counters_.n_positive += 1;
  // W <- W + eta (4 / V^2) (M* W - W (W^T W)).
  if (n > 0) dgemm_("N", "N", &d, &n, &d, &one, gram, &d, W_.data(), &d, &zero, wg.data(), &d);
  const double f = eta * 4.0 / v2;
  for (std::size_t k = 0; k < W_.size(); ++k) W_[k] += f * (mw[k] - wg[k]);
}

double Trainer::TakeLoss() {
  if (windows_) {
    counters_.loss_sum = windows_->loss_sum() - window_loss_;
    counters_.n_positive = windows_->n_positive() - window_positives_;
    window_loss_ = windows_->loss_sum();
    window_positives_ = windows_->n_positive();
  }
  double v[2] = {counters_.loss_sum, counters_.n_positive};
  if (opt_.mode == TrainMode::kSgd) QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, comm_));
  counters_.loss_sum = counters_.n_positive = 0;
  if (v[1] <= 0) return std::nan("");
  const double mean = v[0] / v[1];
  if (opt_.mode == TrainMode::kSgd && opt_.loss == LossKind::kQwem)
    return 4.0 / (1.0 + opt_.nu) * mean + mstar_norm2_ / (static_cast<double>(V_) * static_cast<double>(V_));
  return mean;
}


LocalRows Trainer::Rows() const {
  if (windows_) {
    windows_->GetRows(row_begin_, row_end_, W_.data());
    return LocalRows{W_.data(), row_begin_, row_end_, V_, d_};
  }
  const double* base = opt_.mode == TrainMode::kGd ? W_.data() : W_.data() + static_cast<std::size_t>(row_begin_) * d_;
  return LocalRows{base, row_begin_, row_end_, V_, d_};
}

std::vector<double> Trainer::CopyOutputRows() const {
  if (!has_output_vectors()) return {};
  std::vector<double> out(static_cast<std::size_t>(row_end_ - row_begin_) * d_);
  windows_->GetRows(row_begin_, row_end_, out.data(), true);
  return out;
}

std::vector<double> Trainer::CopyRows() const {
  const LocalRows r = Rows();
  return std::vector<double>(r.data, r.data + static_cast<std::size_t>(r.row_end - r.row_begin) * d_);
}

namespace {

// B = W^T E (d x m, column-major), all-reduced; E's first m columns (row-major, stride n_eig).
std::vector<double> ProjectOnEigenvectors(MPI_Comm comm, const LocalRows& W, const double* E, int n_eig, int m) {
  const int d = W.dim, n = static_cast<int>(W.row_end - W.row_begin);
  std::vector<double> b(static_cast<std::size_t>(d) * m, 0.0);
  const double one = 1, zero = 0;
  if (n > 0 && m > 0) dgemm_("N", "T", &d, &m, &n, &one, W.data, &d, E, &n_eig, &zero, b.data(), &d);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, b.data(), static_cast<int>(b.size()), MPI_DOUBLE, MPI_SUM, comm));
  return b;
}

}  // namespace

SpectrumSnapshot MeasureSpectrum(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                 int overlap_k) {
  const int d = W.dim, n = static_cast<int>(W.row_end - W.row_begin);
  std::vector<double> gram(static_cast<std::size_t>(d) * d, 0.0);
  const double one = 1, zero = 0;
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, W.data, &d, W.data, &d, &zero, gram.data(), &d);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, gram.data(), d * d, MPI_DOUBLE, MPI_SUM, comm));
  // The same all-reduced Gram matrix on every rank, so every rank agrees on this error.
  for (double g : gram)
    if (!std::isfinite(g)) throw Error("training diverged (W overflowed): lower --lr");
  std::vector<double> w(d);
  int info = 0, lwork = -1;
  double query;
  dsyev_("V", "U", &d, gram.data(), &d, w.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(1, lwork));
  dsyev_("V", "U", &d, gram.data(), &d, w.data(), work.data(), &lwork, &info);
  if (info != 0) throw std::runtime_error("dsyev failed on the Gram matrix");
  SpectrumSnapshot snap;
  snap.singular_values.resize(d);
  for (int a = 0; a < d; ++a) snap.singular_values[a] = std::sqrt(std::max(0.0, w[d - 1 - a]));
  const int m = std::min({overlap_k, n_eigenvectors, d});
  if (!eigenvectors || m <= 0) return snap;
  // U_k^T V_k = S_k^-1 Q_k^T (W^T V_k), with Q the Gram eigenvectors (descending).
  const std::vector<double> b = ProjectOnEigenvectors(comm, W, eigenvectors, n_eigenvectors, m);
  std::vector<double> c(static_cast<std::size_t>(d) * m);
  dgemm_("T", "N", &d, &m, &d, &one, gram.data(), &d, b.data(), &d, &zero, c.data(), &d);
  for (int k = 1; k <= m; ++k) {
    double sum = 0;
    for (int a = 0; a < k; ++a) {
      const double s = snap.singular_values[a];
      if (s <= 0) continue;
      for (int e = 0; e < k; ++e) {
        const double v = c[(d - 1 - a) + static_cast<std::size_t>(e) * d] / s;
        sum += v * v;
      }
    }
    snap.overlap.push_back(sum / k);
  }
  return snap;
}

std::vector<double> ProjectedSquares(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                     int n) {
  const int d = W.dim, m = std::min(n, n_eigenvectors);
  std::vector<double> b = ProjectOnEigenvectors(comm, W, eigenvectors, n_eigenvectors, m);
  // Gram-Schmidt over u_k = W^T v_k in eigenvalue order: mode k grows from the part of u_k that
  // the earlier (faster) modes have not claimed.
  std::vector<double> a0(m, 0.0);
  for (int k = 0; k < m; ++k) {
    double* u = b.data() + static_cast<std::size_t>(k) * d;
    for (int j = 0; j < k; ++j) {
      const double* q = b.data() + static_cast<std::size_t>(j) * d;
      double qq = 0, qu = 0;
      for (int r = 0; r < d; ++r) qq += q[r] * q[r], qu += q[r] * u[r];
      if (qq > 0)
        for (int r = 0; r < d; ++r) u[r] -= qu / qq * q[r];
    }
    for (int r = 0; r < d; ++r) a0[k] += u[r] * u[r];
  }
  return a0;
}

}  // namespace qwem
