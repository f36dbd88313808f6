// SGNS on word2vec's windows (--sampling windows, WindowSgns) against a serial oracle written
// from the specification in window_sgns.hpp, in double precision with the exact sigmoid (no
// update beyond a score of +-6, as gensim), one word, one context and one output at a time (no
// shared kernels, no tables, no vector code):
//  * the step chunks, epochs, subsampling, shrunk windows, document boundaries, the groups of
//    contexts and their negatives (including the block path for more than 8 outputs and rows
//    padded for the vector unit);
//  * word2vec's separate output vectors, and one tied W;
//  * P ranks: each step, P sequential passes from one W, their changes summed;
//  * the replicas stay identical on every rank, and a restart from the rows in double (what a
//    checkpoint holds) continues bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "qwem/pair_stats.hpp"
#include "qwem/random.hpp"
#include "qwem/window_sgns.hpp"

namespace {

using namespace qwem;
const MPI_Comm kWorld = MPI_COMM_WORLD;

// Rank r's shard of a synthetic corpus: Zipf-like ids with document boundaries, built from a
// fixed generator so every rank can rebuild every shard.
std::vector<word_id_t> Shard(int r, int V) {
  std::vector<word_id_t> t;
  const int n = 300 + 97 * r;
  for (int p = 0; p < n; ++p) {
    const std::uint64_t x = CounterRandom(99, static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(p), 0);
    if (p > 0 && x % 41 == 0 && t.back() != kBoundary) {
      t.push_back(kBoundary);
      continue;
    }
    // P(i) ~ 1 / (i + 1): i = floor((V + 1)^u) - 1.
    const double u = ToUnit(x);
    t.push_back(static_cast<word_id_t>(std::min<double>(V - 1, std::floor(std::pow(V + 1.0, u)) - 1)));
  }
  return t;
}

// word2vec's settings (the tests change what they exercise).
TrainingSetup WindowSetup() {
  TrainingSetup o;
  o.mode = Mode::kSgd;
  o.dim = 200;
  o.window = 16;
  o.train.loss = LossKind::kSgns;
  o.train.sampling = Sampling::kWindows;
  o.train.output_vectors = OutputVectors::kSeparate;
  o.train.negatives = 5;
  o.train.context_group = 4;
  o.train.subsample = 1e-4;
  o.train.seed = 1;
  o.train.batch = 1 << 20;
  o.train.steps = 1000;
  o.train.lr = 0.025;
  o.train.lr_schedule = LrSchedule::kLinear;
  return o;
}

global_int_t Total(const std::vector<global_int_t>& counts) {
  global_int_t total = 0;
  for (global_int_t c : counts) total += c;
  return total;
}

struct Oracle {
  TrainingSetup o;
  int V, P;
  std::vector<std::vector<word_id_t>> shards;
  std::vector<double> keep;
  AliasTable negatives;
  global_int_t N = 0;
  std::vector<global_int_t> offset;

  Oracle(const TrainingSetup& options, int V_, int P_, const std::vector<global_int_t>& counts)
      : o(options), V(V_), P(P_) {
    global_int_t total = 0;
    for (global_int_t c : counts) total += c;
    std::vector<double> w(V);
    keep.assign(V, 1.0);
    for (int i = 0; i < V; ++i) {
      const double f = static_cast<double>(counts[i]) / total;
      if (f > 0) keep[i] = std::min(1.0, (std::sqrt(f / o.train.subsample) + 1) * o.train.subsample / f);
      w[i] = std::pow(static_cast<double>(counts[i]), kNegativePower);
    }
    negatives = AliasTable(w);
    for (int r = 0; r < P; ++r) {
      shards.push_back(Shard(r, V));
      offset.push_back(N);
      N += static_cast<global_int_t>(shards.back().size());
    }
  }

  std::uint64_t Random(int r, global_int_t epoch, global_int_t p, std::uint64_t lane) const {
    return CounterRandom(o.train.seed ^ kWindowStream, epoch, offset[r] + p, lane);
  }

  // One rank's chunk of step t on W and C (V x d), sequentially (tied: C unused, W both).
  void Pass(int r, global_int_t t, std::vector<double>& W, std::vector<double>& C) const {
    std::vector<double>& U = o.train.output_vectors == OutputVectors::kSeparate ? C : W;
    const std::vector<word_id_t>& tok = shards[r];
    const auto n = static_cast<global_int_t>(tok.size());
    const global_int_t first = t * o.train.batch * n / N, last = (t + 1) * o.train.batch * n / N;
    const int d = o.dim;
    for (global_int_t start = first; start < last;) {
      const global_int_t epoch = start / n, p0 = start % n, p1 = std::min(n, p0 + last - start);
      std::vector<word_id_t> kept;
      std::vector<global_int_t> at;
      for (global_int_t p = p0; p < p1; ++p) {
        if (tok[p] == kBoundary) {
          if (!kept.empty() && kept.back() != kBoundary) kept.push_back(kBoundary), at.push_back(p);
        } else if (keep[tok[p]] >= 1 || ToUnit(Random(r, epoch, p, 0)) < keep[tok[p]]) {
          kept.push_back(tok[p]);
          at.push_back(p);
        }
      }
      for (std::size_t q = 0; q < kept.size(); ++q) {
        if (kept[q] == kBoundary) continue;
        const global_int_t p = at[q];
        const int b = 1 + static_cast<int>(Scale(Random(r, epoch, p, 1), o.window));
        std::vector<word_id_t> ctx;
        for (std::size_t j = q; j-- > 0 && q - j <= static_cast<std::size_t>(b) && kept[j] != kBoundary;)
          ctx.push_back(kept[j]);
        for (std::size_t j = q + 1; j < kept.size() && j - q <= static_cast<std::size_t>(b) && kept[j] != kBoundary;
             ++j)
          ctx.push_back(kept[j]);
        const double done = static_cast<double>(t) + static_cast<double>(start - first + p - p0) / (last - first);
        const double alpha = o.train.lr * std::max(1e-4, 1.0 - done / o.train.steps);
        const std::size_t G = o.train.context_group > 0 ? o.train.context_group : ctx.size();
        for (std::size_t c0 = 0, group = 0; c0 < ctx.size(); c0 += G, ++group) {
          std::vector<word_id_t> out{kept[q]};
          for (int k = 0; k < o.train.negatives; ++k) {
            const word_id_t w = negatives.Draw(Random(r, epoch, p, 2 + group * o.train.negatives + k));
            if (w != kept[q]) out.push_back(w);
          }
          const std::vector<double> w = W, u = U;  // the values before the group
          for (std::size_t i = c0; i < std::min(ctx.size(), c0 + G); ++i) {
            const word_id_t c = ctx[i];
            for (std::size_t k = 0; k < out.size(); ++k) {
              double s = 0;
              for (int e = 0; e < d; ++e) s += w[c * d + e] * u[out[k] * d + e];
              // gensim's rule: no update for a score beyond +-6
              const double g = std::abs(s) >= 6 ? 0.0 : alpha * ((k == 0 ? 1.0 : 0.0) - 1.0 / (1.0 + std::exp(-s)));
              for (int e = 0; e < d; ++e) {
                W[c * d + e] += g * u[out[k] * d + e];
                U[out[k] * d + e] += g * w[c * d + e];
              }
            }
          }
        }
      }
      start += p1 - p0;
    }
  }

  void Step(global_int_t t, std::vector<double>& W, std::vector<double>& C) const {
    const std::vector<double> W0 = W, C0 = C;
    for (int r = 0; r < P; ++r) {
      std::vector<double> w = W0, c = C0;
      Pass(r, t, w, c);
      for (std::size_t k = 0; k < W.size(); ++k) {
        W[k] += w[k] - W0[k];
        C[k] += c[k] - C0[k];
      }
    }
  }
};

std::vector<double> InitialW(int V, int d) {
  std::vector<double> W(static_cast<std::size_t>(V) * d);
  for (std::size_t k = 0; k < W.size(); ++k) W[k] = 0.3 * (ToUnit(CounterRandom(5, 0, k, 0)) - 0.5);
  return W;
}

TEST(Windows, StepsMatchTheSerialOracleOnEveryRank) {
  const int P = CommSize(kWorld), rank = CommRank(kWorld), V = 40;
  // Rates where the summed changes of 4 ranks stay stable on this tiny vocabulary.
  struct Case {
    int K, G;
    bool separate;
    double lr;
  };
  for (const auto& [K, G, separate, lr] : {Case{3, 0, true, 0.1}, Case{10, 0, true, 0.03}, Case{3, 2, true, 0.1},
                                           Case{4, 1, true, 0.1}, Case{3, 0, false, 0.02}}) {
    TrainingSetup o = WindowSetup();
    o.train.output_vectors = separate ? OutputVectors::kSeparate : OutputVectors::kTied;
    o.train.context_group = G;
    o.dim = 20;  // two 16-float vectors per row, four floats of padding
    o.window = 3;
    o.train.negatives = K;
    o.train.subsample = 0.01;
    o.train.seed = 7;
    o.train.steps = 12;
    o.train.lr = lr;
    o.train.lr_schedule = LrSchedule::kLinear;
    std::vector<global_int_t> counts(V, 0);
    for (int r = 0; r < P; ++r)
      for (word_id_t w : Shard(r, V))
        if (w != kBoundary) ++counts[w];
    Oracle oracle(o, V, P, counts);
    o.train.batch = oracle.N / 5;  // 12 steps: more than two epochs, chunks not aligned with them
    oracle.o.train.batch = o.train.batch;

    WindowSgns engine(kWorld, o, Shard(rank, V), counts, Total(counts));
    ASSERT_EQ(engine.total_positions(), oracle.N);
    std::vector<double> W = InitialW(V, o.dim), start = W, C(W.size(), 0.0);
    engine.SetW(W.data());
    for (global_int_t t = 0; t < o.train.steps; ++t) {
      engine.Step(t);
      oracle.Step(t, W, C);
    }
    ASSERT_EQ(engine.separate_output(), separate);
    std::vector<double> got(W.size()), got_c(W.size(), 0.0);
    engine.GetRows(0, V, got.data());
    if (separate) engine.GetRows(0, V, got_c.data(), true);
    double err = 0, moved = 0;
    for (std::size_t k = 0; k < W.size(); ++k) {
      err = std::max({err, std::abs(got[k] - W[k]), std::abs(got_c[k] - C[k])});
      moved = std::max(moved, std::abs(W[k] - start[k]));
    }
    const std::string what = "K = " + std::to_string(K) + ", G = " + std::to_string(G) +
                             (separate ? ", separate C" : ", tied") + " on " + std::to_string(P) + " ranks";
    EXPECT_GT(moved, 0.05) << what << ": training barely moved W";
    // float arithmetic and a tabulated sigmoid against double and the exact one
    if (rank == 0) std::printf("%s: max error %.3g, max change %.3g\n", what.c_str(), err, moved);
    EXPECT_LT(err, 2e-3 * moved) << what << ": max |W - W_oracle| " << err << ", max change " << moved;
    EXPECT_GT(engine.n_positive(), 0);
    // Every rank holds the same replica.
    std::vector<double> lo(got), hi(got);
    MPI_Allreduce(MPI_IN_PLACE, lo.data(), static_cast<int>(lo.size()), MPI_DOUBLE, MPI_MIN, kWorld);
    MPI_Allreduce(MPI_IN_PLACE, hi.data(), static_cast<int>(hi.size()), MPI_DOUBLE, MPI_MAX, kWorld);
    EXPECT_EQ(lo, hi) << "replicas differ between ranks";
  }
}

TEST(Windows, RestartFromDoubleRowsContinuesBitForBit) {
  const int P = CommSize(kWorld), rank = CommRank(kWorld), V = 40;
  TrainingSetup o = WindowSetup();
  o.dim = 20;
  o.window = 4;
  o.train.negatives = 5;
  o.train.context_group = 3;
  o.train.steps = 10;
  o.train.batch = 200;
  o.train.lr = 0.05;
  std::vector<global_int_t> counts(V, 0);
  for (int r = 0; r < P; ++r)
    for (word_id_t w : Shard(r, V))
      if (w != kBoundary) ++counts[w];
  const std::vector<double> W0 = InitialW(V, o.dim);
  WindowSgns full(kWorld, o, Shard(rank, V), counts, Total(counts)),
      first(kWorld, o, Shard(rank, V), counts, Total(counts)), second(kWorld, o, Shard(rank, V), counts, Total(counts));
  full.SetW(W0.data());
  first.SetW(W0.data());
  for (global_int_t t = 0; t < o.train.steps; ++t) full.Step(t);
  for (global_int_t t = 0; t < 4; ++t) first.Step(t);
  std::vector<double> mid(W0.size()), mid_c(W0.size()), a(W0.size()), b(W0.size()), a_c(W0.size()), b_c(W0.size());
  first.GetRows(0, V, mid.data());
  first.GetRows(0, V, mid_c.data(), true);
  second.SetW(mid.data(), mid_c.data());
  for (global_int_t t = 4; t < o.train.steps; ++t) second.Step(t);
  full.GetRows(0, V, a.data());
  second.GetRows(0, V, b.data());
  full.GetRows(0, V, a_c.data(), true);
  second.GetRows(0, V, b_c.data(), true);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a_c, b_c);
  EXPECT_NE(a, mid);
}

TEST(Windows, ChunksCoverEveryPositionOnce) {
  // Steps tile each shard's repeated positions without gaps or overlaps, in proportion to n.
  const global_int_t N = 1000, n = 237, B = 64;
  global_int_t next = 0;
  for (global_int_t t = 0; t < 40; ++t) {
    const StepChunk c = WindowChunk(t, B, n, N);
    EXPECT_EQ(c.first, next);
    EXPECT_LE(c.last - c.first, B * n / N + 1);
    next = c.last;
  }
  EXPECT_EQ(next, 40 * B * n / N);
  EXPECT_EQ(WindowChunk(3, B, 0, N).last, 0);
}

}  // namespace
