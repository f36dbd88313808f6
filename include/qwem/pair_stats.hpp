// The corpus statistics of SCIENCE.md section 1 that every consumer of the counts shares, each
// with one home: P_ij = C_ij / (N (L+1)/2), P_i = n_i / sum_k n_k over in-vocabulary tokens,
// word2vec's subsampling keep probabilities, and the entries of M* (sparse + rank one).
#pragma once

#include <vector>

#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// word2vec's negatives are drawn from the unigram distribution to this power.
inline constexpr double kNegativePower = 0.75;

// Not collective; replicated (every rank computes the same values).
struct PairStatistics {
  PairStatistics(const CooccurrenceRows& counts, const Vocabulary& vocab);
  double pair_norm = 0;         // N (L+1)/2, so that P_ij = C_ij / pair_norm
  std::vector<double> unigram;  // P_i
  double Pij(global_int_t count) const { return static_cast<double>(count) / pair_norm; }
};

// P_i = n_i / total (total: the in-vocabulary token count).
std::vector<double> UnigramProbabilities(const std::vector<global_int_t>& counts, global_int_t total);

// word2vec's probability of keeping a token of a word with unigram probability p under the
// subsampling threshold t: min(1, (sqrt(p / t) + 1) t / p); 1 for t = 0.
double KeepProbability(double p, double t);

// The sparse part of M* on a nonzero of C: S_ij = 4 P_ij / (P_ij + nu P_i P_j), with q = P_i P_j
// (M* = S - 2 1 1^T; SCIENCE.md section 2).
inline double MStarSparseEntry(double p, double q, double nu) { return 4.0 * p / (p + nu * q); }
inline constexpr double kMStarRankOne = -2.0;

// Collective. ||S + c 1 1^T||_F^2 from this rank's stored entries of S (values[k], n of them):
// the sum over stored entries of (s + c)^2 - c^2, over all ranks, plus V^2 c^2.
double SparsePlusRankOneNormSquared(MPI_Comm comm, const double* values, std::size_t n, double c, global_int_t V);

// Collective. ||M*||_F^2 from the counts (its sparse entries computed as MStarSparseEntry).
double MStarNormSquared(MPI_Comm comm, const CooccurrenceRows& counts, const PairStatistics& stats, double nu);

}  // namespace qwem
