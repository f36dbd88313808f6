// Pair-sampling SGD's building blocks against small independent oracles, on every rank count:
//  * IntegerAlias: over the full grid of its two uniform draws, each index comes out exactly
//    n w_k times per n T outcomes (the exact distribution w_k / T, counted, not sampled);
//  * PositiveSampler: its column draw is IntegerAlias's over the row's counts, outcome for outcome;
//    the pair drawn for a key is the same on 1..P ranks, every drawn pair is a nonzero of C with
//    its count, and the row table's total is sum C;
//  * CountLookup: C_ij of every (i, j) of a small vocabulary (dense and sparse rows) equals the
//    gathered counts;
//  * PairGradients: the gradient of a batch (QWEM and SGNS, repeated pairs, i = j, rows of more
//    than kCarry entries, d with and without vector tails) equals a serial double-precision loop
//    written from the specification in pair_kernel.hpp (one pair at a time, scalar dot products):
//    to rounding in double, to float's rounding with --pair-precision single (the kernel over a
//    float copy of W); each row computed by exactly one rank, the rows of all ranks together
//    bit-identical to one rank's, in both precisions;
//  * SharedGradients (--negative-pairing shared): the gradient of a batch of groups (a word shared by
//    up to a few positives, K negatives shared by the group; chunks of one word, partners equal
//    to the word, negatives repeated) equals the same serial loop over the group's pairs written
//    out one by one, to rounding in double and float's in single; on several ranks each row is
//    summed by one rank, bit-identical to one rank's;
//  * SampleWeights (--weights): each kind's weights equal the formulas written out by hand on a
//    four-word unigram, with word2vec's keep probabilities checked against hand-computed values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include "qwem/pair_kernel.hpp"
#include "qwem/pair_sampling.hpp"
#include "qwem/random.hpp"
#include "qwem/shared_kernel.hpp"
#include "test_util.hpp"

namespace {

using namespace qwem;
const MPI_Comm kWorld = MPI_COMM_WORLD;

// The smallest r with Scale(r, n) = k.
std::uint64_t RandomFor(global_int_t k, global_int_t n) {
  const unsigned __int128 x = (static_cast<unsigned __int128>(k) << 64) + static_cast<unsigned __int128>(n) - 1;
  return static_cast<std::uint64_t>(x / static_cast<unsigned __int128>(n));
}

TEST(Pairs, IntegerAliasIsExact) {
  // Two segments and an empty one: weights with zeros, one dominant weight, and unequal sums.
  const std::vector<global_int_t> w = {3, 0, 7, 1, 1, 5, 9, 0, 2, 4};
  const std::vector<global_int_t> offsets = {0, 4, 4, 10};
  const IntegerAlias alias(w.data(), offsets);
  EXPECT_EQ(alias.Draw(1, 123, 456), -1);
  for (std::size_t s : {std::size_t{0}, std::size_t{2}}) {
    const global_int_t first = offsets[s], n = offsets[s + 1] - first, T = alias.Total(s);
    ASSERT_EQ(T, std::accumulate(w.begin() + first, w.begin() + offsets[s + 1], global_int_t{0}));
    std::vector<global_int_t> hits(n, 0);
    for (global_int_t k = 0; k < n; ++k)
      for (global_int_t u = 0; u < T; ++u) {
        ASSERT_EQ(Scale(RandomFor(k, n), n), k);
        ASSERT_EQ(Scale(RandomFor(u, T), T), u);
        const global_int_t x = alias.Draw(s, RandomFor(k, n), RandomFor(u, T));
        ASSERT_GE(x, first);
        ASSERT_LT(x, first + n);
        ++hits[x - first];
      }
    for (global_int_t k = 0; k < n; ++k) EXPECT_EQ(hits[k], n * w[first + k]) << "segment " << s << " index " << k;
  }
}

// C_ij of a row this rank holds (0 if absent), by a search of its columns.
global_int_t CountOf(const CooccurrenceRows& rows, word_id_t i, word_id_t j) {
  const std::size_t r = static_cast<std::size_t>(i - rows.row_begin);
  const auto first = rows.cols.begin() + rows.row_ptr[r], last = rows.cols.begin() + rows.row_ptr[r + 1];
  const auto it = std::lower_bound(first, last, j);
  return it != last && *it == j ? rows.values[it - rows.cols.begin()] : 0;
}

// The sampler's column draw is IntegerAlias's exact draw over the row's counts (whose exactness
// IntegerAliasIsExact checks), outcome for outcome over the full grid of its two uniform draws:
// its buckets only carry their outcomes' columns and counts. Rows with zeros, one entry, none.
TEST(Pairs, PositiveSamplerColumnsAreTheRowsAliasDraws) {
  CooccurrenceRows c;
  c.n_words = 4;
  c.row_ranges = {0, 4};
  c.row_begin = 0;
  c.row_end = 4;
  c.row_ptr = {0, 4, 4, 8, 10};  // row 1 empty, row 3 two equal counts
  for (const word_id_t j : {0, 1, 2, 3, 0, 1, 2, 3, 0, 1}) c.cols.push_back(j);
  for (const global_int_t v : {3, 0, 7, 1, 1, 5, 9, 2, 4, 4}) c.values.push_back(v);
  const PositiveSampler sampler(MPI_COMM_SELF, c);
  const std::vector<global_int_t> offsets(c.row_ptr.begin(), c.row_ptr.end());
  const IntegerAlias alias(c.values.data(), offsets);
  for (word_id_t i = 0; i < 4; ++i) {
    const global_int_t n = offsets[i + 1] - offsets[i], T = alias.Total(i);
    if (n == 0) continue;
    for (global_int_t k = 0; k < n; ++k)
      for (global_int_t u = 0; u < T; ++u) {
        const global_int_t e = alias.Draw(i, RandomFor(k, n), RandomFor(u, T));
        const DrawnColumn drawn = sampler.Column(i, RandomFor(k, n), RandomFor(u, T));
        ASSERT_EQ(drawn.j, c.cols[e]) << "row " << i << " bucket " << k << " u " << u;
        ASSERT_EQ(drawn.count, c.values[e]) << "row " << i << " bucket " << k << " u " << u;
      }
  }
}

TEST(Pairs, PositiveSamplerDrawsTheSamePairsOnEveryRankCount) {
  const int world = CommSize(kWorld), rank = CommRank(kWorld);
  constexpr int kSamples = 2000;
  std::vector<std::int64_t> reference;  // rank 0: (i, j, C_ij) per sample
  for (int k = 1; k <= world; ++k) {
    MPI_Comm sub;
    MPI_Comm_split(kWorld, rank < k ? 0 : MPI_UNDEFINED, rank, &sub);
    std::vector<std::int64_t> drawn(3 * kSamples, 0);
    if (sub != MPI_COMM_NULL) {
      const test::PipelineResult p = test::RunPipeline(sub, test::ShareDir() + "/corpus", 300, 1, {});
      const PositiveSampler sampler(sub, p.rows);
      global_int_t sum = 0;
      for (const auto v : p.rows.values) sum += v;
      EXPECT_EQ(sampler.Total(), AllreduceSum(sub, sum));
      for (int s = 0; s < kSamples; ++s) {
        const word_id_t i = sampler.Row(CounterRandom(7, 1, s, 0), CounterRandom(7, 1, s, 1));
        ASSERT_GE(i, 0);
        ASSERT_LT(i, p.rows.n_words);
        if (i < p.rows.row_begin || i >= p.rows.row_end) continue;
        const DrawnColumn c = sampler.Column(i, CounterRandom(7, 1, s, 2), CounterRandom(7, 1, s, 3));
        ASSERT_GT(c.count, 0);
        ASSERT_EQ(c.count, CountOf(p.rows, i, c.j)) << "(" << i << ", " << c.j << ")";
        drawn[3 * s] += i + 1;  // exactly one rank owns row i: the sums are that rank's values
        drawn[3 * s + 1] += c.j;
        drawn[3 * s + 2] += c.count;
      }
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, drawn.data(), 3 * kSamples, MPI_INT64_T, MPI_SUM, sub));
      MPI_Comm_free(&sub);
    }
    if (rank == 0) {
      for (int s = 0; s < kSamples; ++s) ASSERT_GT(drawn[3 * s], 0) << "sample " << s << " drawn by no rank";
      if (k == 1)
        reference = drawn;
      else
        EXPECT_EQ(drawn, reference) << "on " << k << " ranks";
    }
  }
}

TEST(Pairs, CountLookupEqualsTheCounts) {
  const test::PipelineResult p = test::RunPipeline(kWorld, test::ShareDir() + "/corpus", 2000, 1, {});
  const CountLookup lookup(p.rows);
  const auto all = test::GatherCounts(kWorld, p.rows);  // rank 0
  const auto V = static_cast<word_id_t>(p.rows.n_words);
  std::vector<std::int64_t> got(static_cast<std::size_t>(V) * V, 0);
  int dense_rows = 0;
  for (word_id_t i = 0; i < V; ++i) {
    for (word_id_t j = 0; j < V; ++j) got[static_cast<std::size_t>(i) * V + j] = lookup(i, j);
    if (i >= p.rows.row_begin && i < p.rows.row_end) {
      const global_int_t r = i - p.rows.row_begin;
      dense_rows += (p.rows.row_ptr[r + 1] - p.rows.row_ptr[r]) * 8 >= V;
    }
  }
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, got.data(), static_cast<int>(got.size()), MPI_INT64_T, MPI_SUM, kWorld));
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &dense_rows, 1, MPI_INT, MPI_SUM, kWorld));
  EXPECT_GT(dense_rows, 0);
  EXPECT_LT(dense_rows, V) << "the test needs sparse rows too";
  if (CommRank(kWorld) != 0) return;
  std::size_t wrong = 0;
  for (word_id_t i = 0; i < V; ++i)
    for (word_id_t j = 0; j < V; ++j) {
      const auto it = all.find({i, j});
      wrong += got[static_cast<std::size_t>(i) * V + j] != (it == all.end() ? 0 : it->second);
    }
  EXPECT_EQ(wrong, 0u);
}

// The serial oracle: one pair at a time, scalar dot products, both sides.
std::vector<double> ReferenceGradient(const std::vector<double>& W, int V, int d,
                                      const std::vector<WeightedPair>& pairs, LossKind loss, double scale) {
  std::vector<double> G(static_cast<std::size_t>(V) * d, 0.0);
  for (const WeightedPair& p : pairs) {
    if (p.i < 0) continue;
    double x = 0;
    for (int k = 0; k < d; ++k) x += W[p.i * d + k] * W[p.j * d + k];
    double dl;
    if (loss == LossKind::kQwem)
      dl = (p.positive ? -1.0 : 1.0) + 0.5 * x;
    else
      dl = p.positive ? -1.0 / (1.0 + std::exp(x)) : 1.0 / (1.0 + std::exp(-x));
    const double g = scale * p.weight * dl;
    const std::vector<double> wi(W.begin() + p.i * d, W.begin() + (p.i + 1) * d);
    const std::vector<double> wj(W.begin() + p.j * d, W.begin() + (p.j + 1) * d);
    for (int k = 0; k < d; ++k) G[p.i * d + k] += g * wj[k];
    for (int k = 0; k < d; ++k) G[p.j * d + k] += g * wi[k];
  }
  return G;
}

// PairGradients::Compute in one precision: over W (double) or its float copy (single).
PairBatchTotals ComputeIn(PairPrecision precision, PairGradients& g, const std::vector<double>& W, int V, int d,
                          const std::vector<WeightedPair>& pairs, LossKind loss, double scale) {
  if (precision == PairPrecision::kDouble) return g.Compute(W.data(), pairs, loss, scale);
  std::vector<float> Ws(W.size());
  ToSingle(W.data(), 0, V, d, Ws.data());
  return g.Compute(Ws.data(), pairs, loss, scale);
}

TEST(Pairs, GradientsEqualTheSerialReference) {
  const int P = CommSize(kWorld), rank = CommRank(kWorld);
  constexpr int V = 37;
  // d = 200: whole vectors of 8 doubles, 16 floats and a last 8 floats; 29: scalar tails.
  for (const int d : {200, 29}) {
    std::vector<double> W(static_cast<std::size_t>(V) * d);
    for (std::size_t k = 0; k < W.size(); ++k) W[k] = 0.3 * (ToUnit(CounterRandom(3, d, k, 0)) - 0.5);
    std::vector<WeightedPair> pairs;
    for (int s = 0; s < 500; ++s) {
      // Frequent words (small ids) more often, so rows repeat; every 7th pair has i = j; some empty slots.
      const auto i = static_cast<word_id_t>(Scale(CounterRandom(5, d, s, 0), Scale(CounterRandom(5, d, s, 1), V) + 1));
      const auto j = s % 7 == 0 ? i : static_cast<word_id_t>(Scale(CounterRandom(5, d, s, 2), V));
      if (s % 50 == 3)
        pairs.push_back(WeightedPair{});
      else
        pairs.push_back({i, j, 0.5 + ToUnit(CounterRandom(5, d, s, 3)), s % 3 == 0});
    }
    std::vector<int> entries(V, 0);  // directed entries per row
    for (const WeightedPair& p : pairs)
      if (p.i >= 0) ++entries[p.i], ++entries[p.j];
    ASSERT_GT(*std::max_element(entries.begin(), entries.end()), 2 * PairGradients::kCarry);
    for (const auto& [loss, precision] :
         {std::pair{LossKind::kQwem, PairPrecision::kDouble}, std::pair{LossKind::kSgns, PairPrecision::kDouble},
          std::pair{LossKind::kQwem, PairPrecision::kSingle}, std::pair{LossKind::kSgns, PairPrecision::kSingle}}) {
      const std::string what = std::string(Name(loss)) + ", " + Name(precision) + ", d = " + std::to_string(d);
      const double scale = 1.0 / 500;
      const std::vector<double> ref = ReferenceGradient(W, V, d, pairs, loss, scale);
      // This rank's rows, and one rank's (all rows) for the bitwise comparison.
      // Unequal ranges, one of them empty when P > 2.
      const auto bound = [&](int r) { return static_cast<word_id_t>(r == P ? V : r * r * V / (P * P)); };
      PairGradients mine(d, RowOwnership{bound(rank), bound(rank + 1)}), all(d, RowOwnership{0, V});
      // A batch before (the same pairs at 3 times the weight), as in training: nothing of its
      // gradient may remain in the next one's (the kernel does not clear its rows first).
      std::vector<WeightedPair> before = pairs;
      for (WeightedPair& p : before) p.weight *= 3;
      ComputeIn(precision, mine, W, V, d, before, loss, scale);
      const PairBatchTotals t = ComputeIn(precision, mine, W, V, d, pairs, loss, scale);
      ComputeIn(precision, all, W, V, d, pairs, loss, scale);
      std::vector<double> got(static_cast<std::size_t>(V) * d, 0.0), one(got.size(), 0.0);
      std::vector<int> owner(V, 0);
      for (std::size_t k = 0; k < mine.Touched().size(); ++k) {
        const word_id_t r = mine.Touched()[k];
        ASSERT_TRUE(r >= bound(rank) && r < bound(rank + 1));
        if (k > 0) {
          ASSERT_LT(mine.Touched()[k - 1], r);
        }
        std::copy_n(mine.Gradient(k), d, got.begin() + r * d);
        owner[r] = 1;
      }
      for (std::size_t k = 0; k < all.Touched().size(); ++k)
        std::copy_n(all.Gradient(k), d, one.begin() + all.Touched()[k] * d);
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, got.data(), static_cast<int>(got.size()), MPI_DOUBLE, MPI_SUM, kWorld));
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, owner.data(), V, MPI_INT, MPI_SUM, kWorld));
      double err = 0, norm = 0;
      for (std::size_t k = 0; k < ref.size(); ++k) {
        err = std::max(err, std::abs(got[k] - ref[k]));
        norm = std::max(norm, std::abs(ref[k]));
      }
      EXPECT_GT(norm, 1e-6);
      // Single: float's unit roundoff is 6e-8; a row's float sums run over at most kCarry terms.
      const double tolerance = precision == PairPrecision::kDouble ? 1e-13 : 2e-6;
      EXPECT_LE(err, tolerance * norm) << what;
      if (std::getenv("QWEM_TEST_VERBOSE") && rank == 0)
        std::printf("%s: error %.3g of %.3g\n", what.c_str(), err, norm);
      EXPECT_EQ(got, one) << what << ": rows of " << P << " ranks differ from one rank's";
      // Every touched row is computed once; untouched rows are zero in the reference.
      for (int r = 0; r < V; ++r) {
        bool touched = false;
        for (int k = 0; k < d; ++k) touched |= ref[r * d + k] != 0;
        if (touched) {
          EXPECT_EQ(owner[r], 1) << "row " << r;
        }
      }
      // Totals: the pairs (and positives) whose row i is owned here, summed over the ranks.
      double counts[2] = {t.pairs, t.positives};
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_DOUBLE, MPI_SUM, kWorld));
      double n_pairs = 0, n_pos = 0;
      for (const WeightedPair& p : pairs) n_pairs += p.i >= 0, n_pos += p.i >= 0 && p.positive;
      EXPECT_EQ(counts[0], n_pairs);
      EXPECT_EQ(counts[1], n_pos);
    }
  }
}

// A batch of shared-negative groups over V words: n positives with frequent words more often,
// grouped by word in chunks of at most G, K negatives per group.
SharedBatch SharedGroups(int V, int n, int G, int K, std::uint64_t seed) {
  std::vector<std::vector<int>> by_word(V);  // positives' indices by word
  for (int s = 0; s < n; ++s)
    by_word[Scale(CounterRandom(seed, 1, s, 0), Scale(CounterRandom(seed, 1, s, 1), V) + 1)].push_back(s);
  SharedBatch batch;
  batch.Clear(K);
  for (int i = 0; i < V; ++i)
    for (std::size_t first = 0; first < by_word[i].size(); first += G) {
      const std::size_t last = std::min(by_word[i].size(), first + G);
      batch.word.push_back(i);
      for (int k = 0; k < K; ++k)  // the group's negatives: k = 0 sometimes the word itself
        batch.negative.push_back(k == 0 && first % 3 == 0
                                     ? i
                                     : static_cast<word_id_t>(Scale(CounterRandom(seed, 2, batch.word.size(), k), V)));
      for (std::size_t a = first; a < last; ++a) {
        const int s = by_word[i][a];
        batch.partner.push_back(s % 7 == 0 ? i : static_cast<word_id_t>(Scale(CounterRandom(seed, 3, s, 0), V)));
        for (int c = 0; c <= K; ++c) batch.weight.push_back(0.5 + ToUnit(CounterRandom(seed, 4, s, c)));
      }
      batch.start.push_back(static_cast<std::int32_t>(batch.partner.size()));
    }
  return batch;
}

// The same batch as a list of weighted pairs: each positive (i, j_a), then its negatives (j_a, n_k).
std::vector<WeightedPair> PairsOf(const SharedBatch& batch) {
  std::vector<WeightedPair> pairs;
  const int C = batch.K + 1;
  for (std::size_t g = 0; g < batch.Groups(); ++g)
    for (std::int32_t a = batch.start[g]; a < batch.start[g + 1]; ++a) {
      const double* q = batch.weight.data() + static_cast<std::size_t>(a) * C;
      pairs.push_back({batch.word[g], batch.partner[a], q[0], true});
      for (int k = 0; k < batch.K; ++k)
        pairs.push_back({batch.partner[a], batch.negative[g * batch.K + k], q[1 + k], false});
    }
  return pairs;
}

TEST(Pairs, SharedGradientsEqualTheSerialReference) {
  const int P = CommSize(kWorld), rank = CommRank(kWorld);
  constexpr int V = 37;
  for (const int d : {200, 29})
    for (const int K : {1, 3}) {
      const SharedBatch batch = SharedGroups(V, 400, 5, K, 11 + K);
      ASSERT_GT(batch.Groups(), 40u);
      std::vector<double> W(static_cast<std::size_t>(V) * d);
      for (std::size_t k = 0; k < W.size(); ++k) W[k] = 0.3 * (ToUnit(CounterRandom(3, d, k, 1)) - 0.5);
      std::vector<float> Ws(W.size());
      ToSingle(W.data(), 0, V, d, Ws.data());
      for (const auto& [loss, precision] :
           {std::pair{LossKind::kQwem, PairPrecision::kDouble}, std::pair{LossKind::kSgns, PairPrecision::kDouble},
            std::pair{LossKind::kQwem, PairPrecision::kSingle}, std::pair{LossKind::kSgns, PairPrecision::kSingle}}) {
        const std::string what = std::string(Name(loss)) + ", " + Name(precision) + ", d = " + std::to_string(d) +
                                 ", K = " + std::to_string(K);
        const double scale = 1.0 / 400;
        const std::vector<double> ref = ReferenceGradient(W, V, d, PairsOf(batch), loss, scale);
        // Unequal row ranges, one of them empty when P > 2; and one rank's, all rows.
        std::vector<word_id_t> bounds(P + 1);
        for (int r = 0; r <= P; ++r) bounds[r] = static_cast<word_id_t>(r == P ? V : r * r * V / (P * P));
        SharedGradients mine(d, RowOwnership{bounds[rank], bounds[rank + 1]}, precision),
            all(d, RowOwnership{0, V}, precision);
        const bool single = precision == PairPrecision::kSingle;
        const auto compute = [&](MPI_Comm comm, const std::vector<word_id_t>& b, SharedGradients& g) {
          return single ? ComputeShared(comm, b, g, Ws.data(), batch, loss, scale)
                        : ComputeShared(comm, b, g, W.data(), batch, loss, scale);
        };
        // A batch before, stepped with eta = 0: nothing of its gradient may remain.
        compute(kWorld, bounds, mine);
        std::vector<double> W0 = W;
        std::vector<float> Ws0 = Ws;
        mine.Descend(0.0, W0.data(), single ? Ws0.data() : nullptr);
        const PairBatchTotals t = compute(kWorld, bounds, mine);
        compute(MPI_COMM_SELF, {0, V}, all);
        std::vector<double> got(W.size(), 0.0), one(W.size(), 0.0);
        for (word_id_t r = bounds[rank]; r < bounds[rank + 1]; ++r)
          std::copy_n(mine.Gradient(r).begin(), d, got.begin() + r * d);
        for (word_id_t r = 0; r < V; ++r) std::copy_n(all.Gradient(r).begin(), d, one.begin() + r * d);
        QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, got.data(), static_cast<int>(got.size()), MPI_DOUBLE, MPI_SUM, kWorld));
        double err = 0, norm = 0;
        for (std::size_t k = 0; k < ref.size(); ++k) {
          err = std::max(err, std::abs(got[k] - ref[k]));
          norm = std::max(norm, std::abs(ref[k]));
        }
        EXPECT_GT(norm, 1e-6) << what;
        // Single: each row summed in float over all its terms (about 100 here; rounding ~sqrt(n) eps).
        EXPECT_LE(err, (single ? 2e-6 : 1e-13) * norm) << what;
        if (std::getenv("QWEM_TEST_VERBOSE") && rank == 0)
          std::printf("shared %s: error %.3g of %.3g\n", what.c_str(), err, norm);
        EXPECT_EQ(got, one) << what << ": rows of " << P << " ranks differ from one rank's";
        // Every pair counted once over the ranks, in the group of its word's owner.
        double counts[2] = {t.pairs, t.positives};
        QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_DOUBLE, MPI_SUM, kWorld));
        EXPECT_EQ(counts[0], static_cast<double>(batch.Positives()) * (K + 1)) << what;
        EXPECT_EQ(counts[1], static_cast<double>(batch.Positives())) << what;
      }
    }
}

// The kernels' SGNS losses (their own exp and log1p, in vector lanes) against the formulas with the
// library's std::exp and std::log1p: a few units in the last place over the range where both
// matter, the right limits far out (e below 1e-300: softplus y or 0, sigmoid 1 or 0), and each
// result the same alone as in a block of 8 or in a padded tail.
TEST(Pairs, SgnsLossesMatchTheLibrary) {
  std::vector<double> xs = {0.0, 1e-300, -1e-300, 1e-12, -1e-12, 699.9, -699.9, 700.0, -700.0, 745.2, -745.2, 1e6, -1e6};
  for (double x = -45.0; x <= 45.0; x += 0.0371) xs.push_back(x);
  for (const bool pos : {true, false}) {
    const int n = static_cast<int>(xs.size());
    const std::unique_ptr<bool[]> positive(new bool[n]);
    std::fill_n(positive.get(), n, pos);
    std::vector<double> l(n), dl(n);
    SgnsPairLosses(n, xs.data(), positive.get(), l.data(), dl.data());
    double worst_l = 0, worst_dl = 0;
    for (int k = 0; k < n; ++k) {
      const double y = pos ? -xs[k] : xs[k], e = std::exp(-std::abs(y));
      const double ref_l = y > 0 ? y + std::log1p(e) : std::log1p(e);
      const double s = y >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e), ref_dl = pos ? -s : s;
      EXPECT_NEAR(l[k], ref_l, 1e-15 * std::abs(ref_l) + 1e-300) << "x = " << xs[k] << (pos ? " positive" : "");
      EXPECT_NEAR(dl[k], ref_dl, 1e-15 * std::abs(ref_dl) + 1e-300) << "x = " << xs[k] << (pos ? " positive" : "");
      if (ref_l > 1e-290) worst_l = std::max(worst_l, std::abs(l[k] - ref_l) / ref_l);
      if (std::abs(ref_dl) > 1e-290) worst_dl = std::max(worst_dl, std::abs(dl[k] - ref_dl) / std::abs(ref_dl));
      double one_l, one_dl;
      SgnsPairLosses(1, &xs[k], &positive[k], &one_l, &one_dl);
      EXPECT_EQ(one_l, l[k]) << "x = " << xs[k] << " alone";
      EXPECT_EQ(one_dl, dl[k]) << "x = " << xs[k] << " alone";
    }
    if (std::getenv("QWEM_TEST_VERBOSE"))
      std::printf("sgns losses (%s): largest relative error l %.3g, dl %.3g\n", pos ? "positive" : "negative", worst_l,
                  worst_dl);
  }
}

// The weights of the appendix ablation on a four-word unigram with threshold t = 0.05, where
// word2vec's keep probability min(1, (sqrt(p / t) + 1) t / p) is, by hand: p = 0.4: 0.478553,
// 0.3: 0.574915, 0.2: 0.75, 0.1: 1 (capped from 1.207107).
TEST(Pairs, SampleWeightsAreTheAblationsFormulas) {
  const std::vector<double> u = {0.4, 0.3, 0.2, 0.1};
  const double keep[] = {(std::sqrt(8.0) + 1) * 0.125, (std::sqrt(6.0) + 1) / 6.0, 0.75, 1.0};
  EXPECT_NEAR(keep[0], 0.478553, 1e-6);
  EXPECT_NEAR(keep[1], 0.574915, 1e-6);
  const double t = 0.05, nu = 2.0, pair_norm = 1000.0, c = 3.0 / 16.0;
  const int K = 4;
  const SampleWeights qwem(PairWeights::kQwem, u, pair_norm, c, t, nu, K);
  const SampleWeights word2vec(PairWeights::kWord2vec, u, pair_norm, c, t, nu, K);
  const SampleWeights sampled(PairWeights::kSampled, u, pair_norm, c, t, nu, K);
  const SampleWeights sampled_all(PairWeights::kSampled, u, pair_norm, c, 0.0, nu, K);
  // word2vec's importance weights: keep probabilities and u^0.75 / u, each over its mean.
  double keep_mean = 0, ratio_mean = 0;
  for (int i = 0; i < 4; ++i) keep_mean += keep[i] / 4, ratio_mean += std::pow(u[i], -0.25) / 4;
  const auto a = [&](int i) { return keep[i] / keep_mean; };
  const auto r = [&](int i) { return std::pow(u[i], -0.25) / ratio_mean; };
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const global_int_t count = 10 * (i + 1) + j;  // C_ij
      const double q = c / (static_cast<double>(count) / pair_norm + nu * u[i] * u[j]);
      EXPECT_NEAR(qwem.Positive(i, j, count), q, 1e-14 * q);
      EXPECT_NEAR(qwem.Negative(i, j, count), nu / K * q, 1e-14 * q);
      EXPECT_NEAR(word2vec.Positive(i, j, count), a(i) * a(j), 1e-14);
      EXPECT_NEAR(word2vec.Negative(i, j, count), nu / K * (a(i) * r(j) + a(j) * r(i)) / 2, 1e-14);
      EXPECT_EQ(sampled.Positive(i, j, count), 1.0);
      EXPECT_EQ(sampled.Negative(i, j, count), 1.0);
      EXPECT_NEAR(sampled.Keep(i, j), keep[i] * keep[j], 1e-15);
      EXPECT_EQ(sampled_all.Keep(i, j), 1.0);
      EXPECT_EQ(qwem.Keep(i, j), 1.0);
      EXPECT_EQ(word2vec.Keep(i, j), 1.0);
      // The trainer discards u >= KeepBound(i) before it draws j: no pair it would keep.
      EXPECT_GE(sampled.KeepBound(i), sampled.Keep(i, j));
      EXPECT_NEAR(sampled.KeepBound(i), keep[i], 1e-15);
    }
  // Without discarding, nothing is discarded early.
  for (const SampleWeights* w : {&qwem, &word2vec, &sampled_all}) EXPECT_EQ(w->KeepBound(0), 1.0);
  EXPECT_TRUE(qwem.NeedsNegativeCounts());
  EXPECT_FALSE(word2vec.NeedsNegativeCounts());
  EXPECT_FALSE(sampled.NeedsNegativeCounts());
  // Negatives are drawn from the unigram, or from unigram^0.75 when weights are by sampling.
  EXPECT_EQ(qwem.NegativeDistribution(), u);
  EXPECT_EQ(word2vec.NegativeDistribution(), u);
  const std::vector<double> smoothed = sampled.NegativeDistribution();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(smoothed[i], std::pow(u[i], 0.75), 1e-15);

  // --negative-smoothing beta: words from Q = (1 - beta) P + beta / V, weights times P / Q, so a
  // negative's probability times its weight is the unsmoothed one's, pair by pair (the expected
  // gradient is unchanged): Q_i Q_j w'_ij = P_i P_j w_ij with iid pairs, Q_j w'_ij = P_j w_ij with
  // the positive's word as i.
  const double beta = 0.5;
  const SampleWeights iid(PairWeights::kQwem, u, pair_norm, c, 0.0, nu, K, beta, NegativePairing::kIid);
  const SampleWeights target(PairWeights::kQwem, u, pair_norm, c, 0.0, nu, K, beta, NegativePairing::kTarget);
  const double Q[] = {0.325, 0.275, 0.225, 0.175};  // 0.5 u + 0.5 / 4, by hand
  const std::vector<double> drawn = iid.NegativeDistribution();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(drawn[i], Q[i], 1e-15);
  EXPECT_EQ(target.NegativeDistribution(), drawn);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const global_int_t count = 10 * (i + 1) + j;
      const double w = qwem.Negative(i, j, count);
      EXPECT_NEAR(Q[i] * Q[j] * iid.Negative(i, j, count), u[i] * u[j] * w, 1e-14 * w);
      EXPECT_NEAR(Q[j] * target.Negative(i, j, count), u[j] * w, 1e-14 * w);
      EXPECT_EQ(iid.Positive(i, j, count), qwem.Positive(i, j, count));
    }
  // Smoothing applies to qwem weights only.
  const SampleWeights w2v_smoothed(PairWeights::kWord2vec, u, pair_norm, c, t, nu, K, beta);
  EXPECT_EQ(w2v_smoothed.NegativeDistribution(), u);
}

}  // namespace
