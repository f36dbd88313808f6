// The pair kernel alone (PairGradients::Compute, pair_kernel.hpp): pair updates per second on a
// synthetic batch, for the ceiling of pair-sampling SGD apart from its sampling and step.
//
// A batch is B positives and K negatives each, every word drawn from a Zipf law over V words
// (p_i ~ 1 / (i + 1), as a corpus's unigram), negatives paired with their positive's word; W has
// random entries of std 0.05. One rank, all rows owned. Eight batches are made once and cycled.
// Usage: qwem_pair_kernel_bench V d B K REPS double|single   (prints one line: pairs/s)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "qwem/pair_kernel.hpp"

int main(int argc, char** argv) {
  using namespace qwem;
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s V d B K REPS double|single\n", argv[0]);
    return 2;
  }
  const int V = std::atoi(argv[1]), d = std::atoi(argv[2]), B = std::atoi(argv[3]), K = std::atoi(argv[4]);
  const int reps = std::atoi(argv[5]);
  const bool single = std::string(argv[6]) == "single";
  if (V < 1 || d < 1 || B < 1 || K < 0 || reps < 1 || (!single && std::string(argv[6]) != "double")) {
    std::fprintf(stderr, "%s: bad arguments\n", argv[0]);
    return 2;
  }
  std::mt19937_64 rng(1);
  std::vector<double> cumulative(V);
  double total = 0;
  for (int i = 0; i < V; ++i) cumulative[i] = (total += 1.0 / (i + 1));
  auto zipf = [&] {
    const double u = std::uniform_real_distribution<double>(0, total)(rng);
    return static_cast<word_id_t>(std::lower_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
  };
  std::vector<double> W(static_cast<std::size_t>(V) * d);
  std::normal_distribution<double> normal(0, 0.05);
  for (double& w : W) w = normal(rng);
  std::vector<float> Ws(W.size());
  ToSingle(W.data(), 0, V, d, Ws.data());
  std::vector<std::vector<WeightedPair>> batches(8);
  for (auto& batch : batches)
    for (int s = 0; s < B; ++s) {
      const word_id_t i = zipf();
      batch.push_back({i, zipf(), 1.0, true});
      for (int k = 0; k < K; ++k) batch.push_back({i, zipf(), 1.0, false});
    }
  PairGradients gradients(d, RowOwnership{0, static_cast<word_id_t>(V)});
  double check = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    const std::vector<WeightedPair>& batch = batches[r % batches.size()];
    const double scale = 1.0 / B;
    check += (single ? gradients.Compute(Ws.data(), batch, LossKind::kQwem, scale)
                     : gradients.Compute(W.data(), batch, LossKind::kQwem, scale))
                 .loss;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f\n", reps * static_cast<double>(B) * (K + 1) / seconds);
  std::fprintf(stderr, "(loss sum %.6g)\n", check);
  return 0;
}
