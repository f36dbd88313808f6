// Built-in evaluation and explanation of embeddings (SCIENCE.md section 6), distributed over
// the ranks that hold the embedding rows: nothing gathers the V x d matrix on one rank.
//  * Analogies, 3CosAdd on unit-normalized rows, query words excluded, questions with all
//    four words in the vocabulary: the standard protocol (questions-words.txt as given) and
//    the paper's pair protocol (per section, every ordered pair of distinct in-vocabulary word
//    pairs is one analogy).
//  * Word similarity: Spearman rho between cosine and human scores, over pairs in vocabulary.
//  * Concepts: for each top eigenvector, the words with its largest and smallest entries.
#pragma once

#include <mpi.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/options.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

struct AnalogySection {
  std::string name;
  bool semantic = false;                          // sections not starting with "gram"
  global_int_t correct = 0, total = 0;            // standard protocol, questions in vocabulary
  global_int_t n_questions = 0;                   // all questions of the section
  global_int_t pair_correct = 0, pair_total = 0;  // pair protocol
};

struct AnalogyReport {
  std::vector<AnalogySection> sections;
  global_int_t correct(bool pair, int semantic /* -1 all, 0 syntactic, 1 semantic */) const;
  global_int_t total(bool pair, int semantic) const;
  double accuracy(bool pair, int semantic) const;
  global_int_t n_questions() const;
};

// Not collective. Parses questions-words.txt ("': section" lines, then "a b c d"), lowercasing
// ASCII. Throws qwem::Error if the file cannot be read or has a malformed line.
struct AnalogyQuestions {
  std::vector<std::string> section_names;
  std::vector<std::vector<std::array<std::string, 4>>> questions;  // per section
};
AnalogyQuestions ReadAnalogies(const std::string& path);

// Collective. Both protocols on the embedding rows. `max_pair_analogies` caps the pair
// protocol per section (0: no cap; beyond it, a deterministic stride subsample is used and the
// counts say so).
AnalogyReport EvaluateAnalogies(MPI_Comm comm, const LocalRows& emb, const Vocabulary& vocab,
                                const AnalogyQuestions& questions, global_int_t max_pair_analogies = 0);

struct SimilarityReport {
  std::string name;
  double spearman = 0;  // NaN: undefined
  global_int_t n_pairs = 0, n_covered = 0;
};

// The pairs of a word-similarity file with their human scores.
struct SimilarityPairs {
  std::string name;
  std::vector<std::string> a, b;
  std::vector<double> score;
};
// Not collective. A word-similarity file: "word word score" per line, words lower-cased; the score
// is the first number after the two words, so extra columns are allowed (the original SimLex-999
// layout, RW's ratings); a first line without a number is a header and skipped, as are blank
// lines and lines starting with '#'. Throws qwem::Error naming the line of any other line
// without a score.
SimilarityPairs ReadSimilarity(const std::string& path);

// Collective.
SimilarityReport EvaluateSimilarity(MPI_Comm comm, const LocalRows& emb, const Vocabulary& vocab,
                                    const SimilarityPairs& pairs);

// Collective. For eigenvectors 0..k-1 (columns of `vectors`), the ids of the `m` words with the
// largest and with the smallest entries (descending / ascending), on every rank.
struct Concept {
  std::vector<word_id_t> top, bottom;
};
std::vector<Concept> ExtractConcepts(MPI_Comm comm, const LocalRows& vectors, int k, int m);

// Not collective. Spearman's rho with average ranks for ties; NaN where it is undefined (fewer
// than 2 pairs, or either side without spread).
double Spearman(const std::vector<double>& x, const std::vector<double>& y);

// The evaluation files of a run, read once before the corpus (so a bad file fails in the first
// second) and used by the final evaluation and by the analogy probes during training.
struct EvalData {
  std::optional<AnalogyQuestions> analogies;
  std::vector<SimilarityPairs> similarity;
  std::vector<std::string> skipped;  // bundled defaults that were absent (the caller warns)
};
// Collective: every rank reads the files, failures agreed (qwem::Error on every rank).
EvalData ReadEvaluationData(MPI_Comm comm, const EvalOptions& options);

struct Evaluation {
  std::optional<AnalogyReport> analogies;
  std::vector<SimilarityReport> similarity;
  std::vector<Concept> concepts;  // of the top options.concepts eigenvectors
};
// Collective. Analogies and similarity on the embeddings, concepts from the eigenvectors.
Evaluation Evaluate(MPI_Comm comm, const LocalRows& embeddings, const LocalRows& eigenvectors, const Vocabulary& vocab,
                    const EvalData& data, const EvalOptions& options);

}  // namespace qwem
