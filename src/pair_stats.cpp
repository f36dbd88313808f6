#include "qwem/pair_stats.hpp"

#include <algorithm>
#include <cmath>

namespace qwem {

std::vector<double> UnigramProbabilities(const std::vector<global_int_t>& counts, global_int_t total) {
  std::vector<double> p(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) p[i] = static_cast<double>(counts[i]) / static_cast<double>(total);
  return p;
}

PairStatistics::PairStatistics(const CooccurrenceRows& counts, const Vocabulary& vocab)
    : pair_norm(static_cast<double>(counts.n_pairs) * (counts.window + 1) / 2.0),
      unigram(UnigramProbabilities(vocab.counts, vocab.n_in_vocab_tokens)) {}

double KeepProbability(double p, double t) {
  if (!(t > 0) || !(p > 0)) return 1.0;
  return std::min(1.0, (std::sqrt(p / t) + 1) * t / p);
}

double SparsePlusRankOneNormSquared(MPI_Comm comm, const double* values, std::size_t n, double c, global_int_t V) {
  double local = 0, total = 0;
  for (std::size_t k = 0; k < n; ++k) local += (values[k] + c) * (values[k] + c) - c * c;
  QWEM_MPI(MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, comm));
  return total + static_cast<double>(V) * static_cast<double>(V) * c * c;
}

double MStarNormSquared(MPI_Comm comm, const CooccurrenceRows& counts, const PairStatistics& stats, double nu) {
  std::vector<double> s(counts.values.size());
  for (global_int_t r = 0; r < counts.n_local_rows(); ++r)
    for (global_int_t k = counts.row_ptr[r]; k < counts.row_ptr[r + 1]; ++k)
      s[k] = MStarSparseEntry(stats.Pij(counts.values[k]),
                              stats.unigram[counts.row_begin + r] * stats.unigram[counts.cols[k]], nu);
  return SparsePlusRankOneNormSquared(comm, s.data(), s.size(), kMStarRankOne, counts.n_words);
}

}  // namespace qwem
