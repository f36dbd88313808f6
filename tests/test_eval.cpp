// The evaluator on tiny hand-built embeddings whose answers are known, split over the ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "qwem/eval.hpp"
#include "test_util.hpp"

namespace {

const MPI_Comm kWorld = MPI_COMM_WORLD;

// Words and 3-d vectors: gender along x, royalty along y, plus distractors; "city" pairs along z.
struct Toy {
  qwem::Vocabulary vocab;
  std::vector<double> all;  // V x 3
  std::vector<double> local;
  qwem::LocalRows rows;
};

Toy MakeToy() {
  Toy t;
  const std::vector<std::pair<std::string, std::array<double, 3>>> words = {
      {"man", {1, 0, 0}},      {"woman", {-1, 0, 0}},     {"king", {1, 1, 0}},     {"queen", {-1, 1, 0}},
      {"boy", {1, -0.2, 0.1}}, {"girl", {-1, -0.2, 0.1}}, {"paris", {0, 0, 1}},    {"france", {0, 0.3, 1}},
      {"rome", {0.1, 0, 1}},   {"italy", {0.1, 0.3, 1}},  {"noise", {0.3, -1, -1}}};
  for (const auto& [w, v] : words) {
    t.vocab.index.Add(w);
    t.vocab.words.push_back(w);
    t.vocab.counts.push_back(1);
    t.all.insert(t.all.end(), v.begin(), v.end());
  }
  const int size = qwem::CommSize(kWorld), rank = qwem::CommRank(kWorld);
  const qwem::global_int_t V = t.vocab.size();
  const qwem::global_int_t b = V * rank / size, e = V * (rank + 1) / size;
  t.local.assign(t.all.begin() + b * 3, t.all.begin() + e * 3);
  t.rows = {t.local.data(), b, e, V, 3};
  return t;
}

TEST(Evaluation, ThreeCosAddOnAHandBuiltEmbedding) {
  Toy t = MakeToy();
  qwem::AnalogyQuestions q;
  q.section_names = {"family", "capital-common-countries", "gram1-fake"};
  q.questions = {{{"man", "woman", "king", "queen"}, {"man", "woman", "boy", "girl"}},
                 {{"paris", "france", "rome", "italy"}, {"paris", "france", "oslo", "norway"}},
                 {{"king", "queen", "man", "boy"}}};
  const auto r = qwem::EvaluateAnalogies(kWorld, t.rows, t.vocab, q);
  ASSERT_EQ(r.sections.size(), 3u);
  EXPECT_EQ(r.sections[0].correct, 2);  // the gender direction answers both
  EXPECT_EQ(r.sections[0].total, 2);
  EXPECT_EQ(r.sections[1].correct, 1);  // the oslo question is out of vocabulary
  EXPECT_EQ(r.sections[1].total, 1);
  EXPECT_EQ(r.sections[1].n_questions, 2);
  EXPECT_EQ(r.sections[2].correct, 0);  // queen - king + man is woman, not boy
  EXPECT_EQ(r.sections[2].total, 1);
  EXPECT_TRUE(r.sections[0].semantic);
  EXPECT_FALSE(r.sections[2].semantic);
  EXPECT_EQ(r.total(false, -1), 4);
  EXPECT_DOUBLE_EQ(r.accuracy(false, -1), 0.75);
  EXPECT_DOUBLE_EQ(r.accuracy(false, 1), 1.0);
  EXPECT_DOUBLE_EQ(r.accuracy(false, 0), 0.0);
  // Pair protocol. Family: pairs (man,woman), (king,queen), (boy,girl), 6 ordered analogies, all
  // right. Capitals: (paris,france), (rome,italy): 2 analogies, both right. The third section:
  // pairs (king,queen), (man,boy): queen - king + man -> boy is wrong (woman), boy - man + king
  // -> queen is wrong too (the royal direction is not the age direction).
  EXPECT_EQ(r.sections[0].pair_total, 6);
  EXPECT_EQ(r.sections[0].pair_correct, 6);
  EXPECT_EQ(r.sections[1].pair_total, 2);
  EXPECT_EQ(r.sections[1].pair_correct, 2);
  EXPECT_EQ(r.sections[2].pair_total, 2);
  EXPECT_EQ(r.sections[2].pair_correct, 0);
}

TEST(Evaluation, SimilaritySpearmanAndCoverage) {
  Toy t = MakeToy();
  qwem::SimilarityPairs p;
  p.name = "toy";
  // cosines: king/queen 0, man/boy ~0.98, paris/rome ~0.99, man/woman -1; human order matches.
  p.a = {"king", "man", "paris", "man", "unknown"};
  p.b = {"queen", "boy", "rome", "woman", "king"};
  p.score = {5, 8, 9, 1, 3};
  const auto r = qwem::EvaluateSimilarity(kWorld, t.rows, t.vocab, p);
  EXPECT_EQ(r.n_pairs, 5);
  EXPECT_EQ(r.n_covered, 4);
  EXPECT_DOUBLE_EQ(r.spearman, 1.0);
}

TEST(Evaluation, SpearmanWithTies) {
  // Hand-computed: ranks x (1, 2.5, 2.5, 4), y (1, 2, 3, 4): rho = 4.5 / sqrt(4.5 * 5) = 0.9487.
  EXPECT_NEAR(qwem::Spearman({1, 2, 2, 3}, {10, 20, 30, 40}), 0.9486832980505138, 1e-12);
}

TEST(Evaluation, ConceptsAreTheExtremeEntries) {
  Toy t = MakeToy();
  const auto c = qwem::ExtractConcepts(kWorld, t.rows, 2, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].top, (std::vector<qwem::word_id_t>{0, 2}));      // x: man 1, king 1 (ties by id)
  EXPECT_EQ(c[0].bottom, (std::vector<qwem::word_id_t>{1, 3}));   // woman -1, queen -1
  EXPECT_EQ(c[1].top, (std::vector<qwem::word_id_t>{2, 3}));      // y: king 1, queen 1
  EXPECT_EQ(c[1].bottom, (std::vector<qwem::word_id_t>{10, 4}));  // noise -1, then boy -0.2 (id 4 < 5)
}

TEST(Evaluation, AnalogyFileParsing) {
  qwem::test::TempDir dir(kWorld);
  dir.Write("q.txt",
            ": capital-common-countries\nAthens Greece Baghdad Iraq\r\n: gram3-comparative\nbad good better worse\n");
  const auto q = qwem::ReadAnalogies(dir.path() + "/q.txt");
  ASSERT_EQ(q.section_names, (std::vector<std::string>{"capital-common-countries", "gram3-comparative"}));
  EXPECT_EQ(q.questions[0][0][1], "greece");
  dir.Write("bad.txt", ": s\nonly three words\n");
  EXPECT_THROW(qwem::ReadAnalogies(dir.path() + "/bad.txt"), qwem::Error);
  EXPECT_THROW(qwem::ReadAnalogies(dir.path() + "/missing.txt"), qwem::Error);
}

}  // namespace
