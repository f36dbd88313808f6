#include "qwem/eval.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>

#include "qwem/blas.hpp"
#include "qwem/exchange.hpp"

namespace qwem {

namespace {

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Unit-normalized copy of this rank's rows (zero rows stay zero).
std::vector<double> UnitRows(const LocalRows& e) {
  const std::size_t m = static_cast<std::size_t>(e.row_end - e.row_begin);
  std::vector<double> u(e.data, e.data + m * e.dim);
  for (std::size_t i = 0; i < m; ++i) {
    double n = 0;
    for (int k = 0; k < e.dim; ++k) n += u[i * e.dim + k] * u[i * e.dim + k];
    n = std::sqrt(n);
    if (n > 0)
      for (int k = 0; k < e.dim; ++k) u[i * e.dim + k] /= n;
  }
  return u;
}

// Collective. Rows `ids` of the matrix whose local rows are `local` (laid out like e) on every
// rank (each rank fills the rows it owns, one MPI_Allreduce).
std::vector<double> GatherRows(MPI_Comm comm, const LocalRows& e, const double* local,
                               const std::vector<word_id_t>& ids) {
  std::vector<double> out(ids.size() * e.dim, 0.0);
  for (std::size_t q = 0; q < ids.size(); ++q)
    if (ids[q] >= e.row_begin && ids[q] < e.row_end)
      std::copy_n(local + (ids[q] - e.row_begin) * e.dim, e.dim, out.data() + q * e.dim);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, out.data(), static_cast<int>(out.size()), MPI_DOUBLE, MPI_SUM, comm));
  return out;
}

// Collective. 3CosAdd for a batch of (a, b, c) queries: the word maximizing cos(x, b - a + c)
// over all x outside {a, b, c}. Each rank scores its own rows, then MPI_MAXLOC picks the global
// best (lowest id on ties). The scores are computed in single precision (sgemm, twice dgemm's
// rate), and every row within the single-precision error bound of a query's best is scored
// again in double: the answer is the double-precision argmax (scores equal to about 1e-15 may
// resolve differently from a dgemm's summation order).
std::vector<word_id_t> Answer3CosAdd(MPI_Comm comm, const LocalRows& e, const std::vector<double>& unit,
                                     const std::vector<std::array<word_id_t, 3>>& queries) {
  std::vector<word_id_t> answers(queries.size(), -1);
  constexpr std::size_t kBatch = 1024;
  const int d = e.dim;
  const int m = static_cast<int>(e.row_end - e.row_begin);
  // The unit rows of every word the queries use (a few hundred), gathered once.
  std::vector<word_id_t> ids;
  for (const auto& q : queries) ids.insert(ids.end(), q.begin(), q.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::vector<double> rows = GatherRows(comm, e, unit.data(), ids);
  auto row = [&](word_id_t id) {
    return rows.data() + (std::lower_bound(ids.begin(), ids.end(), id) - ids.begin()) * static_cast<std::ptrdiff_t>(d);
  };
  const std::vector<float> unit_single(unit.begin(), unit.end());
  for (std::size_t q0 = 0; q0 < queries.size(); q0 += kBatch) {
    const std::size_t nq = std::min(kBatch, queries.size() - q0);
    std::vector<double> target(nq * d), margin(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      const double *a = row(queries[q0 + q][0]), *b = row(queries[q0 + q][1]), *c = row(queries[q0 + q][2]);
      double norm2 = 0;
      for (int k = 0; k < d; ++k) {
        target[q * d + k] = b[k] - a[k] + c[k];
        norm2 += target[q * d + k] * target[q * d + k];
      }
      // |single - double| <= (d + 2) 2^-24 ||t|| ||u|| (rounding to float, then the dot
      // product), ||u|| <= 1; twice that for the best's own error, and twice again for safety.
      margin[q] = 4.0 * (d + 2) * 0x1.0p-24 * std::sqrt(norm2);
    }
    const std::vector<float> target_single(target.begin(), target.end());
    // scores (m x nq, column-major) = unit (m x d) * target^T; both row-major, so in BLAS terms
    // scores^T (nq x m) = target (nq x d) * unit^T.
    std::vector<float> scores(static_cast<std::size_t>(m) * nq);
    if (m > 0) {
      const int nqi = static_cast<int>(nq);
      const float one = 1.0f, zero = 0.0f;
      sgemm_("T", "N", &nqi, &m, &d, &one, target_single.data(), &d, unit_single.data(), &d, &zero, scores.data(),
             &nqi);
    }
    auto allowed = [&](word_id_t id, std::size_t q) {
      const auto& qq = queries[q0 + q];
      return id != qq[0] && id != qq[1] && id != qq[2];
    };
    // The best single-precision score of each query, row by row (a row's scores are contiguous).
    std::vector<float> best_single(nq, -std::numeric_limits<float>::infinity());
    for (int i = 0; i < m; ++i) {
      const auto id = static_cast<word_id_t>(e.row_begin + i);
      const float* r = scores.data() + static_cast<std::size_t>(i) * nq;
      for (std::size_t q = 0; q < nq; ++q)
        if (r[q] > best_single[q] && allowed(id, q)) best_single[q] = r[q];
    }
    // The candidates again in double, rows in id order, so a tie keeps the lowest id.
    struct {
      double value;
      int index;
    } best[kBatch];
    for (std::size_t q = 0; q < nq; ++q) best[q] = {-1e300, static_cast<int>(e.n_words)};
    for (int i = 0; i < m; ++i) {
      const auto id = static_cast<word_id_t>(e.row_begin + i);
      const float* r = scores.data() + static_cast<std::size_t>(i) * nq;
      for (std::size_t q = 0; q < nq; ++q) {
        if (r[q] < best_single[q] - margin[q] || !allowed(id, q)) continue;
        double s = 0;
        for (int k = 0; k < d; ++k) s += target[q * d + k] * unit[static_cast<std::size_t>(i) * d + k];
        if (s > best[q].value) best[q] = {s, id};
      }
    }
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, best, static_cast<int>(nq), MPI_DOUBLE_INT, MPI_MAXLOC, comm));
    for (std::size_t q = 0; q < nq; ++q) answers[q0 + q] = best[q].index;
  }
  return answers;
}

std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[idx[k]] = (i + j) / 2.0 + 1;
    i = j + 1;
  }
  return r;
}

}  // namespace

global_int_t AnalogyReport::correct(bool pair, int semantic) const {
  global_int_t n = 0;
  for (const auto& s : sections)
    if (semantic < 0 || s.semantic == (semantic == 1)) n += pair ? s.pair_correct : s.correct;
  return n;
}

global_int_t AnalogyReport::total(bool pair, int semantic) const {
  global_int_t n = 0;
  for (const auto& s : sections)
    if (semantic < 0 || s.semantic == (semantic == 1)) n += pair ? s.pair_total : s.total;
  return n;
}

double AnalogyReport::accuracy(bool pair, int semantic) const {
  const global_int_t t = total(pair, semantic);
  return t > 0 ? static_cast<double>(correct(pair, semantic)) / static_cast<double>(t) : 0.0;
}

global_int_t AnalogyReport::n_questions() const {
  global_int_t n = 0;
  for (const auto& s : sections) n += s.n_questions;
  return n;
}

AnalogyQuestions ReadAnalogies(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read analogy file '" + path + "'");
  AnalogyQuestions q;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] == ':') {
      std::istringstream ss(line.substr(1));
      std::string name;
      ss >> name;
      q.section_names.push_back(name);
      q.questions.emplace_back();
      continue;
    }
    std::istringstream ss(Lower(line));
    std::array<std::string, 4> w;
    std::string extra;
    if (!(ss >> w[0] >> w[1] >> w[2] >> w[3]) || (ss >> extra) || q.questions.empty())
      throw Error("analogy file '" + path + "' line " + std::to_string(lineno) +
                  ": expected ': section' or four words");
    q.questions.back().push_back(w);
  }
  if (q.section_names.empty()) throw Error("analogy file '" + path + "' has no sections");
  return q;
}

AnalogyReport EvaluateAnalogies(MPI_Comm comm, const LocalRows& emb, const Vocabulary& vocab,
                                const AnalogyQuestions& questions, global_int_t max_pair_analogies) {
  // Every query of every section and both protocols, answered in one pass: each batch of 1024
  // reads the unit rows once.
  std::vector<std::array<word_id_t, 3>> queries;
  std::vector<word_id_t> expected;
  struct Range {
    std::size_t standard_begin, pairs_begin, end;
  };
  std::vector<Range> ranges;
  AnalogyReport report;
  for (std::size_t s = 0; s < questions.section_names.size(); ++s) {
    AnalogySection sec;
    sec.name = questions.section_names[s];
    sec.semantic = sec.name.rfind("gram", 0) != 0;
    sec.n_questions = static_cast<global_int_t>(questions.questions[s].size());
    Range range{queries.size(), 0, 0};
    // Standard protocol; and the pair protocol's distinct in-vocabulary (a, b) pairs of the
    // section, in first-seen order.
    std::vector<std::pair<word_id_t, word_id_t>> pairs;
    auto add_pair = [&](word_id_t a, word_id_t b) {
      if (a < 0 || b < 0) return;
      if (std::find(pairs.begin(), pairs.end(), std::make_pair(a, b)) == pairs.end()) pairs.emplace_back(a, b);
    };
    for (const auto& w : questions.questions[s]) {
      std::array<word_id_t, 4> id;
      for (int j = 0; j < 4; ++j) id[j] = vocab.index.Find(w[j]);
      add_pair(id[0], id[1]);
      add_pair(id[2], id[3]);
      if (id[0] < 0 || id[1] < 0 || id[2] < 0 || id[3] < 0) continue;
      queries.push_back({id[0], id[1], id[2]});
      expected.push_back(id[3]);
    }
    range.pairs_begin = queries.size();
    const global_int_t n_pair_analogies =
        static_cast<global_int_t>(pairs.size()) * (static_cast<global_int_t>(pairs.size()) - 1);
    const global_int_t stride = max_pair_analogies > 0 && n_pair_analogies > max_pair_analogies
                                    ? (n_pair_analogies + max_pair_analogies - 1) / max_pair_analogies
                                    : 1;
    global_int_t index = 0;
    for (const auto& p : pairs)
      for (const auto& r : pairs) {
        if (p == r) continue;
        if (index++ % stride != 0) continue;
        queries.push_back({p.first, p.second, r.first});  // b - a + c -> d
        expected.push_back(r.second);
      }
    range.end = queries.size();
    ranges.push_back(range);
    report.sections.push_back(sec);
  }
  // The unit rows in an even layout: the scoring's work is proportional to rows, and the
  // embeddings come laid out like the counts, balanced by nonzeros.
  const std::vector<double> unit = UnitRows(emb);
  const int size = CommSize(comm);
  std::vector<global_int_t> from(size + 1, emb.n_words);
  QWEM_MPI(MPI_Allgather(&emb.row_begin, 1, MPI_INT64_T, from.data(), 1, MPI_INT64_T, comm));
  const std::vector<global_int_t> to = EvenRanges(emb.n_words, size);
  const std::vector<double> even = RedistributeRows(comm, from, to, unit.data(), emb.dim);
  const int rank = CommRank(comm);
  const LocalRows even_rows{even.data(), to[rank], to[rank + 1], emb.n_words, emb.dim};
  const std::vector<word_id_t> answers = Answer3CosAdd(comm, even_rows, even, queries);
  for (std::size_t s = 0; s < ranges.size(); ++s) {
    AnalogySection& sec = report.sections[s];
    const Range& r = ranges[s];
    sec.total = static_cast<global_int_t>(r.pairs_begin - r.standard_begin);
    sec.pair_total = static_cast<global_int_t>(r.end - r.pairs_begin);
    for (std::size_t q = r.standard_begin; q < r.end; ++q)
      (q < r.pairs_begin ? sec.correct : sec.pair_correct) += answers[q] == expected[q];
  }
  return report;
}

SimilarityPairs ReadSimilarity(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read similarity file '" + path + "'");
  SimilarityPairs p;
  p.name = path.substr(path.find_last_of('/') + 1);
  std::string line;
  int lineno = 0;
  bool first = true;  // the first line that is not blank or a comment may be a header
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ss(Lower(line));
    std::vector<std::string> fields;
    for (std::string f; ss >> f;) fields.push_back(f);
    if (fields.empty() || fields[0][0] == '#') continue;
    // The score is the first number after the two words: the third column of WordSim-353, MEN
    // and RW, the fourth of the original SimLex-999 (after its part-of-speech column).
    std::optional<double> score;
    for (std::size_t k = 2; k < fields.size() && !score; ++k) {
      char* end = nullptr;
      const double x = std::strtod(fields[k].c_str(), &end);
      if (end && *end == '\0' && std::isfinite(x)) score = x;
    }
    const bool header = first && !score;
    first = false;
    if (header) continue;  // "word1 word2 POS SimLex999 ...": column names
    if (!score)
      throw Error("similarity file '" + path + "' line " + std::to_string(lineno) +
                  ": expected 'word word score' (extra columns allowed)");
    p.a.push_back(fields[0]);
    p.b.push_back(fields[1]);
    p.score.push_back(*score);
  }
  return p;
}

SimilarityReport EvaluateSimilarity(MPI_Comm comm, const LocalRows& emb, const Vocabulary& vocab,
                                    const SimilarityPairs& pairs) {
  SimilarityReport r;
  r.name = pairs.name;
  r.n_pairs = static_cast<global_int_t>(pairs.a.size());
  std::vector<word_id_t> ids;
  std::vector<double> human;
  for (std::size_t i = 0; i < pairs.a.size(); ++i) {
    const word_id_t a = vocab.index.Find(pairs.a[i]), b = vocab.index.Find(pairs.b[i]);
    if (a < 0 || b < 0) continue;
    ids.push_back(a);
    ids.push_back(b);
    human.push_back(pairs.score[i]);
  }
  const std::vector<double> rows = GatherRows(comm, emb, emb.data, ids);
  std::vector<double> cosine(human.size());
  for (std::size_t i = 0; i < human.size(); ++i) {
    const double* x = rows.data() + (2 * i) * emb.dim;
    const double* y = x + emb.dim;
    double xy = 0, xx = 0, yy = 0;
    for (int k = 0; k < emb.dim; ++k) {
      xy += x[k] * y[k];
      xx += x[k] * x[k];
      yy += y[k] * y[k];
    }
    cosine[i] = xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;  // zero rows: cosine 0, as unit rows give
  }
  r.n_covered = static_cast<global_int_t>(human.size());
  r.spearman = Spearman(cosine, human);
  return r;
}

std::vector<Concept> ExtractConcepts(MPI_Comm comm, const LocalRows& v, int k, int m) {
  std::vector<Concept> out(k);
  const std::size_t rows = static_cast<std::size_t>(v.row_end - v.row_begin);
  for (int c = 0; c < std::min(k, v.dim); ++c) {
    // Local candidates: the m largest and m smallest entries, then every rank merges them all.
    std::vector<std::pair<double, int>> local;
    for (std::size_t i = 0; i < rows; ++i) local.emplace_back(v.data[i * v.dim + c], static_cast<int>(v.row_begin + i));
    std::vector<std::pair<double, int>> cand;
    auto take = [&](bool largest) {
      auto cmp = [&](const auto& a, const auto& b) {
        return largest ? (a.first > b.first || (a.first == b.first && a.second < b.second))
                       : (a.first < b.first || (a.first == b.first && a.second < b.second));
      };
      const std::size_t n = std::min<std::size_t>(m, local.size());
      std::partial_sort(local.begin(), local.begin() + n, local.end(), cmp);
      cand.insert(cand.end(), local.begin(), local.begin() + n);
    };
    take(true);
    take(false);
    std::vector<std::pair<double, int>> all = AllgatherConcat(comm, cand.data(), cand.size());
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    all.erase(std::unique(all.begin(), all.end()), all.end());
    for (int i = 0; i < m && i < static_cast<int>(all.size()); ++i) out[c].top.push_back(all[i].second);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first < b.first || (a.first == b.first && a.second < b.second);
    });
    for (int i = 0; i < m && i < static_cast<int>(all.size()); ++i) out[c].bottom.push_back(all[i].second);
  }
  return out;
}

double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const std::vector<double> rx = Ranks(x), ry = Ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::numeric_limits<double>::quiet_NaN();
}

EvalData ReadEvaluationData(MPI_Comm comm, const EvalOptions& options) {
  EvalData data;
  // The bundled defaults may be absent (the binary moved away from the source tree): skipped
  // with a warning. Files the user named must exist.
  auto usable = [&](const EvalFile& file) {
    if (!file.bundled || std::filesystem::exists(file.path)) return true;
    data.skipped.push_back(file.path);
    return false;
  };
  RunAgreed(comm, [&] {
    if (options.analogies && usable(*options.analogies)) data.analogies = ReadAnalogies(options.analogies->path);
    for (const EvalFile& file : options.similarity)
      if (usable(file)) data.similarity.push_back(ReadSimilarity(file.path));
  });
  return data;
}

Evaluation Evaluate(MPI_Comm comm, const LocalRows& embeddings, const LocalRows& eigenvectors, const Vocabulary& vocab,
                    const EvalData& data, const EvalOptions& options) {
  Evaluation ev;
  if (data.analogies) ev.analogies = EvaluateAnalogies(comm, embeddings, vocab, *data.analogies);
  for (const SimilarityPairs& pairs : data.similarity)
    ev.similarity.push_back(EvaluateSimilarity(comm, embeddings, vocab, pairs));
  ev.concepts =
      ExtractConcepts(comm, eigenvectors, std::min(options.concepts, eigenvectors.dim), options.concept_words);
  return ev;
}

}  // namespace qwem
