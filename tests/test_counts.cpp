// Distributed counts against the serial reference (exact), on hand-built cases and the bundled
// corpus, and the same results bit for bit on sub-communicators of every size.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "qwem/common.hpp"
#include "qwem/exchange.hpp"
#include "qwem/pair_counter.hpp"
#include "reference.hpp"
#include "test_util.hpp"

namespace {

using qwem::test::GatherCounts;
using qwem::test::RunPipeline;
using qwem::test::TempDir;

const MPI_Comm kWorld = MPI_COMM_WORLD;

// Runs the distributed pipeline and compares everything with the reference on rank 0.
void ExpectMatchesReference(MPI_Comm comm, const std::string& path, std::int64_t V, std::int64_t min_count, int L,
                            qwem::CountOptions options = {}) {
  options.window = L;
  const auto got = RunPipeline(comm, path, V, min_count, options);
  const auto counts = GatherCounts(comm, got.rows);
  // Every in-vocabulary token is counted once as a first position (main's rate relies on it).
  EXPECT_EQ(qwem::AllreduceSum(comm, got.stats.n_local_positions), got.vocab.n_in_vocab_tokens);
  // Every row's columns strictly increasing (the CSR contract PETSc and HDF5 readers rely on).
  for (qwem::global_int_t r = 0; r < got.rows.n_local_rows(); ++r)
    for (auto k = got.rows.row_ptr[r] + 1; k < got.rows.row_ptr[r + 1]; ++k)
      ASSERT_LT(got.rows.cols[k - 1], got.rows.cols[k]) << "row " << got.rows.row_begin + r;
  if (qwem::CommRank(comm) != 0) return;
  const auto want = qwem::ref::Count(qwem::ref::ReadDocuments(path), V, min_count, L);
  EXPECT_EQ(got.vocab.words, want.words);
  EXPECT_EQ(got.vocab.counts, want.word_counts);
  EXPECT_EQ(got.vocab.n_total_tokens, want.n_total_tokens);
  EXPECT_EQ(got.vocab.n_distinct_words, want.n_distinct_words);
  EXPECT_EQ(got.rows.n_pairs, want.n_pairs);
  EXPECT_EQ(got.rows.nnz, static_cast<qwem::global_int_t>(want.C.size()));
  EXPECT_TRUE(counts == want.C) << "counts differ from the serial reference (" << counts.size() << " vs "
                                << want.C.size() << " nonzeros)";
}

TEST(Counts, HandComputedTinyCase) {
  // "a b a" with L = 2: (a,b) and (b,a) at j = 1 weigh 2, (a,a) at j = 2 weighs 1, both
  // directions: C[a][b] = C[b][a] = 4, C[a][a] = 2, N = 6.
  TempDir dir(kWorld);
  dir.Write("t.txt", "a b a");
  qwem::CountOptions o;
  o.window = 2;
  const auto got = RunPipeline(kWorld, dir.path(), 10, 1, o);
  const auto counts = GatherCounts(kWorld, got.rows);
  EXPECT_EQ(got.vocab.words, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(got.rows.n_pairs, 6);
  if (qwem::CommRank(kWorld) == 0) {
    const std::map<std::pair<int, int>, std::int64_t> want = {{{0, 0}, 2}, {{0, 1}, 4}, {{1, 0}, 4}};
    EXPECT_EQ(counts, want);
  }
}

TEST(Counts, DocumentsShorterThanTheWindowAndEmptyFiles) {
  TempDir dir(kWorld);
  dir.Write("1.txt", "one two three");
  dir.Write("2.txt", "");
  dir.Write("3.txt", "   \n ");
  dir.Write("4.txt", "two three two one");
  dir.Write("5.txt", "solo");
  ExpectMatchesReference(kWorld, dir.path(), 100, 1, 16);
}

TEST(Counts, TokenAndWindowsStraddlingShardEdges) {
  // One document, long tokens placed where 2, 3 and 4 ranks cut the bytes, L larger than a
  // shard's token count so windows cross several shards.
  TempDir dir(kWorld);
  std::string text;
  for (int i = 0; i < 40; ++i) text.append("w").append(std::to_string(i % 7)).append(" ");
  text += std::string(120, 'L') + " ";
  for (int i = 0; i < 40; ++i) text.append("v").append(std::to_string(i % 5)).append(" ");
  dir.Write("edge.txt", text);
  ExpectMatchesReference(kWorld, dir.path(), 1000, 1, 16);
  ExpectMatchesReference(kWorld, dir.path(), 1000, 1, 100);
}

TEST(Counts, RanksWithoutData) {
  TempDir dir(kWorld);
  dir.Write("tiny.txt", "a b");  // with 4 ranks, most ranks read nothing
  ExpectMatchesReference(kWorld, dir.path(), 10, 1, 16);
}

TEST(Counts, WikiExtractorAndGzipFiles) {
  TempDir dir(kWorld);
  std::mt19937 rng(5);
  auto words = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      s += 'w';
      s += std::to_string(rng() % 40);
      s += rng() % 9 ? ' ' : '\n';
    }
    return s;
  };
  dir.Write("wiki/AA/wiki_00", "<doc id=\"1\" url=\"x\" title=\"T\">\nT\n\n" + words(300) +
                                   "\n</doc>\n<doc id=\"2\">\n" + words(500) + "\n</doc>\n");
  dir.Write("wiki/AA/wiki_01.gz", "<doc id=\"3\">\n" + words(400) + "\n</doc>\n", true);
  dir.Write("plain.gz", words(700), true);
  dir.Write("plain.txt", words(900));
  ExpectMatchesReference(kWorld, dir.path(), 30, 1, 5);
  ExpectMatchesReference(kWorld, dir.path(), 100, 3, 16);
}

TEST(Counts, BundledCorpusMatchesSerialReference) {
  ExpectMatchesReference(kWorld, qwem::test::ShareDir() + "/corpus", 2000, 1, 16);
}

TEST(Counts, SmallBuffersAndManyFlushesGiveTheSameCounts) {
  // A tiny budget puts most pairs in the sparse buffer: many lock-step flushes, owner
  // compactions, and rows that mix dense and sparse parts.
  qwem::CountOptions o;
  o.buffer_bytes = 256 << 10;
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  ExpectMatchesReference(kWorld, corpus, 3000, 1, 8, o);
  o.window = 8;
  const auto got = RunPipeline(kWorld, corpus, 3000, 1, o);
  EXPECT_LT(got.stats.dense_words, 3000);
  EXPECT_GT(got.stats.n_sparse_flushes, 1);
  EXPECT_GT(got.stats.n_owner_compactions, 0);  // on every rank
}

TEST(Counts, SortAndCombineMatchesAMap) {
  // The radix sort's digit widths and pass counts follow the key range: 1 to 6 passes here,
  // with a partial top digit, inputs below the std::sort cutoff, and heavy duplicates.
  std::mt19937_64 rng(3);
  for (const int key_bits : {5, 12, 13, 24, 34, 37, 63}) {
    for (const std::size_t n : {std::size_t{0}, std::size_t{1000}, std::size_t{50000}}) {
      const std::uint64_t max_key = (std::uint64_t{1} << key_bits) - 1;
      qwem::big_vector<qwem::SparseEntry> v(n);
      std::map<std::uint64_t, qwem::global_int_t> want;
      for (auto& e : v) {
        // Half the keys from a small set (duplicates to combine), half anywhere up to max_key.
        e.key = rng() % 2 ? rng() % 64 * (max_key / 64) : rng() & max_key;
        e.count = static_cast<qwem::global_int_t>(rng() % 1000);
        want[e.key] += e.count;
      }
      qwem::big_vector<qwem::SparseEntry> scratch;
      qwem::SortAndCombine(v, max_key, scratch);
      ASSERT_EQ(v.size(), want.size()) << key_bits << " bits, n = " << n;
      std::size_t k = 0;
      for (const auto& [key, count] : want) {
        ASSERT_EQ(v[k].key, key) << key_bits << " bits, n = " << n << ", entry " << k;
        ASSERT_EQ(v[k].count, count) << key_bits << " bits, n = " << n << ", entry " << k;
        ++k;
      }
    }
  }
}

TEST(Counts, CountsPastSixteenBitsCarryExactly) {
  // The triangle keeps 16 bits per cell plus a carry per wrap. The bundled corpus has counts
  // far past 2^16 (so wraps happen while counting, and at 2+ ranks in the band sums); the
  // comparison with the reference is in BundledCorpusMatchesSerialReference, this checks that
  // the path is really taken.
  qwem::CountOptions o;
  o.window = 16;
  const auto got = RunPipeline(kWorld, qwem::test::ShareDir() + "/corpus", 2000, 1, o);
  std::int64_t largest = 0;
  for (const auto v : got.rows.values) largest = std::max<std::int64_t>(largest, v);
  EXPECT_GT(qwem::AllreduceMax(kWorld, largest), 8 * 65536);
  EXPECT_GT(qwem::AllreduceSum(kWorld, got.reduce.n_band_carries), 100);
  // The reduce's step times (written to /timings) partition its time.
  double steps = 0;
  for (double s : got.reduce.step_seconds) {
    EXPECT_GE(s, 0.0);
    steps += s;
  }
  EXPECT_GT(got.reduce.seconds, 0.0);
  EXPECT_NEAR(steps, got.reduce.seconds, 1e-3 * got.reduce.seconds + 1e-6);
}

TEST(Counts, CarriesOnTheBandAndBlockPaths) {
  // The reduce places a triangle cell's count with its carries (the count past 2^16) by one of
  // three paths: the diagonal (lo == hi) in row hi alone, an off-diagonal cell of the owner's
  // band in both its rows, or a cell of a higher rank's band, received in a block, in row lo.
  // Here carries lie on the last two paths (the block path from 2 ranks on; at 1 rank both
  // cells are in the one band), away from the first rows: chains "x v x v ..." and "y z y z ..."
  // of three rare words (the last rows) give the cells (x, v) and (y, z) counts past 65,536, with
  // x the most frequent word (the first row); 100 shuffled background words make every other
  // row dense, so the rows split evenly and the rare words share the last rank.
  TempDir dir(kWorld);
  std::vector<std::string> background;
  for (int w = 0; w < 100; ++w)
    for (int k = 0; k < 600; ++k) background.push_back(std::string("b").append(std::to_string(w)));
  for (int k = 0; k < 2000; ++k) background.push_back("x");
  std::shuffle(background.begin(), background.end(), std::mt19937(11));
  std::string text;
  for (const std::string& w : background) text.append(w).append(" ");
  text += "\n";
  for (int k = 0; k < 500; ++k) text += "x v ";
  text += "\n";
  for (int k = 0; k < 500; ++k) text += "y z ";
  dir.Write("chains.txt", text);
  ExpectMatchesReference(kWorld, dir.path(), 1000, 1, 16);
  const auto got = RunPipeline(kWorld, dir.path(), 1000, 1, qwem::CountOptions{});
  EXPECT_GE(qwem::AllreduceSum(kWorld, got.reduce.n_band_carries), 2);
  if (qwem::CommRank(kWorld) == 0) {
    const auto want = qwem::ref::Count(qwem::ref::ReadDocuments(dir.path()), 1000, 1, 16);
    const auto id = [&](const std::string& w) {
      return static_cast<int>(std::find(want.words.begin(), want.words.end(), w) - want.words.begin());
    };
    ASSERT_EQ(id("x"), 0);
    for (const char* w : {"v", "y", "z"}) EXPECT_GE(id(w), 100) << w;
    EXPECT_GT(want.C.at({id("x"), id("v")}), 65536);
    EXPECT_GT(want.C.at({id("y"), id("z")}), 65536);
  }
}

TEST(Counts, IdenticalOnEverySubcommunicatorSize) {
  // Bit-for-bit independence of the rank count within one run: the pipeline on the first k
  // ranks, for every k, gives the same vocabulary and counts as on all ranks.
  const int world = qwem::CommSize(kWorld), rank = qwem::CommRank(kWorld);
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  qwem::CountOptions o;
  o.window = 16;
  const auto full = RunPipeline(kWorld, corpus, 5000, 2, o);
  const auto full_counts = GatherCounts(kWorld, full.rows);
  for (int k = 1; k < world; ++k) {
    MPI_Comm sub;
    MPI_Comm_split(kWorld, rank < k ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    const auto part = RunPipeline(sub, corpus, 5000, 2, o);
    const auto part_counts = GatherCounts(sub, part.rows);
    if (rank == 0) {
      EXPECT_EQ(part.vocab.words, full.vocab.words) << k << " ranks";
      EXPECT_EQ(part.vocab.counts, full.vocab.counts) << k << " ranks";
      EXPECT_EQ(part.rows.n_pairs, full.rows.n_pairs) << k << " ranks";
      EXPECT_TRUE(part_counts == full_counts) << k << " ranks";
    }
    MPI_Comm_free(&sub);
  }
}

TEST(Counts, RowOwnershipIsBalancedByNonzeros) {
  qwem::CountOptions o;
  o.window = 16;
  const auto got = RunPipeline(kWorld, qwem::test::ShareDir() + "/corpus", 5000, 1, o);
  const int size = qwem::CommSize(kWorld);
  // Each rank's nonzeros (+1 per row) are within one row of the even share.
  qwem::global_int_t max_row = 0;
  for (qwem::global_int_t r = 0; r < got.rows.n_local_rows(); ++r)
    max_row = std::max(max_row, got.rows.row_ptr[r + 1] - got.rows.row_ptr[r] + 1);
  const qwem::global_int_t max_row_global =
      static_cast<qwem::global_int_t>(qwem::AllreduceMax(kWorld, static_cast<double>(max_row)));
  const double share = static_cast<double>(got.rows.nnz + got.rows.n_words) / size;
  const double mine = static_cast<double>(got.rows.n_local_nnz() + got.rows.n_local_rows());
  EXPECT_LE(mine, share + max_row_global);
  // Row counts are far from even: frequent words have dense rows.
  if (size > 1 && qwem::CommRank(kWorld) == 0) {
    EXPECT_LT(got.rows.n_local_rows(), got.rows.n_words / size);
  }
}

// StreamToOwners against its oracle: every rank knows what every source emits (a pure function
// of the source, its item and the emit), so it knows exactly what it must keep and in which
// order from each source. Rounds of a few items each force many rounds, with uneven loads
// (rank 1 emits nothing, rank 0 receives the most, items emit 0, 1 or 2), and the default round
// gives the same.
TEST(Exchange, StreamToOwnersDeliversEveryItemOnceInEachSourcesOrder) {
  struct Item {
    std::int32_t source, k, emit, pad;
  };
  const int rank = qwem::CommRank(kWorld), size = qwem::CommSize(kWorld);
  const auto n_items = [](int source) {
    return source == 1 ? std::size_t{0} : static_cast<std::size_t>(300 + 97 * source);
  };
  const auto n_emits = [](int source, std::size_t k) { return static_cast<int>((k * 7 + source) % 3); };
  const auto owner = [size](int source, std::size_t k, int e) {
    return (k * 7 + e) % 3 == 0 ? 0 : static_cast<int>((k * 13 + k / 3 + 5 * source + 3 * e) % size);
  };
  for (const std::size_t round_bytes : {std::size_t{48} * size, qwem::kStreamRoundBytes}) {
    std::vector<std::vector<Item>> kept(size);
    qwem::StreamToOwners<Item>(
        kWorld, n_items(rank), 2,
        [&](std::size_t k, auto&& emit) {
          for (int e = 0; e < n_emits(rank, k); ++e)
            emit(owner(rank, k, e), Item{rank, static_cast<std::int32_t>(k), e, 0});
        },
        [&](const Item& it) { kept[std::clamp(it.source, 0, size - 1)].push_back(it); }, round_bytes);
    // EXPECT, not ASSERT: a rank leaving early would leave the others waiting in the next exchange.
    for (int source = 0; source < size; ++source) {
      std::vector<Item> want;
      for (std::size_t k = 0; k < n_items(source); ++k)
        for (int e = 0; e < n_emits(source, k); ++e)
          if (owner(source, k, e) == rank) want.push_back(Item{source, static_cast<std::int32_t>(k), e, 0});
      const auto same = [](const Item& a, const Item& b) {
        return a.source == b.source && a.k == b.k && a.emit == b.emit;
      };
      EXPECT_TRUE(std::equal(kept[source].begin(), kept[source].end(), want.begin(), want.end(), same))
          << "rank " << rank << " kept " << kept[source].size() << " items from rank " << source << " (want "
          << want.size() << "), round bytes " << round_bytes;
    }
  }
}

TEST(Vocabulary, TiesAreBrokenByByteOrderAndClampedWhenShort) {
  TempDir dir(kWorld);
  // counts: zeta 3, beta 2, alpha 2, \xc3\xa9 2, gamma 1, delta 1
  dir.Write("v.txt", "zeta beta alpha zeta \xc3\xa9 beta alpha zeta \xc3\xa9 gamma delta");
  qwem::CountOptions o;
  o.window = 2;
  auto got = RunPipeline(kWorld, dir.path(), 3, 1, o);
  EXPECT_EQ(got.vocab.words, (std::vector<std::string>{"zeta", "alpha", "beta"}));
  EXPECT_EQ(got.vocab.coverage(), 7.0 / 11.0);
  got = RunPipeline(kWorld, dir.path(), 100, 2, o);
  EXPECT_EQ(got.vocab.words, (std::vector<std::string>{"zeta", "alpha", "beta", "\xc3\xa9"}));  // UTF-8 bytes sort last
  EXPECT_TRUE(got.vocab.clamped());
  EXPECT_EQ(got.vocab.n_distinct_words, 6);
}

}  // namespace
