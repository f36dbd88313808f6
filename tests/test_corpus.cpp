// Sharding without MPI: for many simulated rank counts, the union of all ranks' shards must be
// exactly the corpus's documents (every token read once, documents continued across shard edges),
// compared with the serial reference reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "qwem/corpus.hpp"
#include "reference.hpp"
#include "test_util.hpp"

namespace {

using Doc = std::vector<std::string>;

struct Recorder : qwem::TokenSink {
  std::vector<std::string> range, whole;
  std::vector<std::string>* cur = &range;
  void Token(std::string_view t) override { cur->emplace_back(t); }
  void Boundary() override { cur->emplace_back("\x01"); }
  void WholeFiles() override { cur = &whole; }
};

// Rebuilds the documents from every simulated rank's shard: a range that does not start with a
// boundary continues the previous rank's last range document.
std::vector<Doc> Reassemble(const qwem::CorpusPlan& plan, int n_ranks) {
  std::vector<Doc> range_docs(1), whole_docs;
  for (int r = 0; r < n_ranks; ++r) {
    Recorder rec;
    qwem::ReadShard(plan, r, rec);
    for (const auto& t : rec.range) {
      if (t == "\x01")
        range_docs.emplace_back();
      else
        range_docs.back().push_back(t);
    }
    for (const auto& t : rec.whole) {
      if (t == "\x01")
        whole_docs.emplace_back();
      else
        whole_docs.back().push_back(t);
    }
  }
  range_docs.insert(range_docs.end(), whole_docs.begin(), whole_docs.end());
  std::vector<Doc> out;
  for (auto& d : range_docs)
    if (!d.empty()) out.push_back(std::move(d));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Doc> ReferenceDocs(const std::string& path) {
  std::vector<Doc> out;
  for (auto& d : qwem::ref::ReadDocuments(path))
    if (!d.empty()) out.push_back(std::move(d));
  std::sort(out.begin(), out.end());
  return out;
}

std::string RandomText(std::mt19937& rng, int n_words, const char* seps = " \n\t") {
  static const char* words[] = {"the",  "Of",    "and",
                                "a",    "quick", "brown",
                                "fox",  "jumps", "over",
                                "lazy", "dog",   "supercalifragilisticexpialidocious",
                                "x",    "zebra", "\xc3\xa9t\xc3\xa9"};
  std::string s;
  for (int i = 0; i < n_words; ++i) {
    s += words[rng() % 15];
    s += seps[rng() % std::strlen(seps)];
    if (rng() % 50 == 0) s += "   ";
  }
  return s;
}

TEST(Sharding, EveryRankCountReassemblesTheCorpus) {
  qwem::test::TempDir dir(MPI_COMM_SELF);
  std::mt19937 rng(11);
  dir.Write("a.txt", RandomText(rng, 3000));
  dir.Write("b/c.txt", "<doc id=\"1\" title=\"A\">\nA\n" + RandomText(rng, 200) + "\n</doc>\n<doc id=\"2\">\n" +
                           RandomText(rng, 300, " ") + "\n</doc>\n");
  dir.Write("b/d.txt.gz", RandomText(rng, 500), /*gzip=*/true);
  dir.Write("b/e.gz", "<doc id=\"3\">\n" + RandomText(rng, 100) + "\n</doc>\n<doc id=\"4\">\nshort\n</doc>\n", true);
  dir.Write("empty.txt", "");
  dir.Write("ws.txt", "  \n\t \n");
  dir.Write(".hidden.txt", "never read");
  dir.Write("z.txt", std::string(300, 'q') + " tail");  // one long token that straddles edges
  const std::vector<Doc> want = ReferenceDocs(dir.path());
  ASSERT_GT(want.size(), 5u);
  for (int p = 1; p <= 12; ++p) {
    const qwem::CorpusPlan plan = qwem::PlanCorpus(dir.path(), p);
    EXPECT_EQ(plan.files.size(), 7u);  // the hidden file is skipped
    EXPECT_EQ(plan.range_begin.front(), 0);
    EXPECT_EQ(plan.range_begin.back(), plan.plain_bytes);
    EXPECT_TRUE(std::is_sorted(plan.range_begin.begin(), plan.range_begin.end()));
    EXPECT_EQ(Reassemble(plan, p), want) << "ranks = " << p;
  }
}

TEST(Sharding, EveryByteOffsetAsAShardEdge) {
  // A 1-byte shard per rank (and more ranks than bytes): every possible cut position.
  qwem::test::TempDir dir(MPI_COMM_SELF);
  dir.Write("one.txt", "ab cd  ef\ngh ij");
  dir.Write("two.txt", "<doc id=\"9\">\nkl mn\n</doc>\nop\n");
  const std::vector<Doc> want = ReferenceDocs(dir.path());
  ASSERT_EQ(want.size(), 3u);
  for (int p = 1; p <= 45; ++p) EXPECT_EQ(Reassemble(qwem::PlanCorpus(dir.path(), p), p), want) << "ranks = " << p;
}

TEST(Sharding, GzipFilesAreBalancedWholeByUncompressedSize) {
  qwem::test::TempDir dir(MPI_COMM_SELF);
  std::mt19937 rng(3);
  for (int i = 0; i < 6; ++i)
    dir.Write(std::string("f").append(std::to_string(i)).append(".gz"), RandomText(rng, 2000 * (i + 1)), true);
  dir.Write("plain.txt", RandomText(rng, 20000));
  const qwem::CorpusPlan plan = qwem::PlanCorpus(dir.path(), 4);
  std::vector<int> seen;
  std::vector<qwem::global_int_t> load(4, 0);
  for (int r = 0; r < 4; ++r) {
    for (int i : plan.gzip_of[r]) {
      seen.push_back(i);
      load[r] += plan.files[i].text_bytes;
    }
    load[r] += plan.range_begin[r + 1] - plan.range_begin[r];
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));  // each gzip file on exactly one rank
  // Water filling: every rank's text load is within the largest gzip file of the mean.
  const double mean = (load[0] + load[1] + load[2] + load[3]) / 4.0;
  qwem::global_int_t biggest = 0;
  for (const auto& f : plan.files) biggest = std::max(biggest, f.gzip ? f.text_bytes : 0);
  for (int r = 0; r < 4; ++r) EXPECT_LE(std::abs(load[r] - mean), biggest) << "rank " << r;
  EXPECT_GT(plan.files[0].text_bytes, plan.files[0].bytes);  // sized from the gzip trailer
}

// A file that shrinks (or grows) between the plan and the reading is an error on every rank,
// never a short read reported with the planned sizes.
TEST(Sharding, AFileChangedSinceThePlanIsAnError) {
  const MPI_Comm world = MPI_COMM_WORLD;
  qwem::test::TempDir dir(world);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "word" + std::to_string(i % 97) + " ";
  dir.Write("a.txt", text);
  const qwem::CorpusPlan plan = qwem::DiscoverCorpus(world, dir.path());
  dir.Write("a.txt", text.substr(0, text.size() / 3));  // rank 0 rewrites it shorter
  Recorder sink;
  try {
    qwem::ReadCorpus(world, plan, {dir.path(), 1000}, sink);
    ADD_FAILURE() << "a file that shrank was read without an error";
  } catch (const qwem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("changed while the corpus was read"), std::string::npos) << e.what();
  }
}

}  // namespace
