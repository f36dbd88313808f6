// The pair kernels alone: pair updates per second on a synthetic batch, for the ceiling of
// pair-sampling SGD apart from its sampling.
//
// A batch is B positives and K negatives each, every word drawn from a Zipf law over V words
// (p_i ~ 1 / (i + 1), as a corpus's unigram), negatives paired with their positive's word; W has
// random entries of std 0.05. One rank, all rows owned. Eight batches are made once and cycled.
// Kernels: double or single, PairGradients::Compute (pair_kernel.hpp); shared-double or
// shared-single, SharedGradients::Compute (shared_kernel.hpp) on the same positives grouped by
// word in groups of at most 16, each group's K negatives those of its first positive. With "step",
// each batch is followed by its Descend with eta = 0 (the shared kernel resets its rows there).
// reads-double or reads-single: not a kernel but the floor of the pair kernel's memory reads. The
// same entries as PairGradients orders them (each pair once in its row i and once in its row j,
// rows ascending), and for each entry only the loads of its other row's cache lines, with the
// kernel's prefetch distance: no products, losses or gradient.
// Usage: qwem_pair_kernel_bench V d B K REPS KERNEL [step]   (prints one line: pairs/s)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "qwem/pair_kernel.hpp"
#include "qwem/shared_kernel.hpp"

int main(int argc, char** argv) {
  using namespace qwem;
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s V d B K REPS double|single|shared-double|shared-single|reads-double|reads-single "
                 "[step]\n",
                 argv[0]);
    return 2;
  }
  const int V = std::atoi(argv[1]), d = std::atoi(argv[2]), B = std::atoi(argv[3]), K = std::atoi(argv[4]);
  const int reps = std::atoi(argv[5]);
  const std::string kernel = argv[6];
  const bool single = kernel == "single" || kernel == "shared-single" || kernel == "reads-single";
  const bool shared = kernel == "shared-double" || kernel == "shared-single";
  const bool reads = kernel == "reads-double" || kernel == "reads-single";
  const bool step = argc == 8 && std::string(argv[7]) == "step";
  if (V < 1 || d < 1 || B < 1 || K < 0 || reps < 1 || (!single && !shared && !reads && kernel != "double") ||
      (argc == 8 && !step) || (shared && K < 1) || (reads && step)) {
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
  // The same positives as groups: by word, at most 16 each, the group's negatives its first
  // positive's; a positive's partner is its other word.
  std::vector<SharedBatch> groups(batches.size());
  for (std::size_t b = 0; b < batches.size(); ++b) {
    std::vector<std::vector<int>> by_word(V);
    for (int s = 0; s < B; ++s) by_word[batches[b][s * (K + 1)].i].push_back(s);
    SharedBatch& g = groups[b];
    g.Clear(K);
    for (int i = 0; i < V; ++i)
      for (std::size_t a = 0; a < by_word[i].size(); a += 16) {
        g.word.push_back(i);
        for (int k = 0; k < K; ++k) g.negative.push_back(batches[b][by_word[i][a] * (K + 1) + 1 + k].j);
        for (std::size_t e = a; e < std::min(by_word[i].size(), a + 16); ++e) {
          g.partner.push_back(batches[b][by_word[i][e] * (K + 1)].j);
          g.weight.insert(g.weight.end(), K + 1, 1.0);
        }
        g.start.push_back(static_cast<std::int32_t>(g.partner.size()));
      }
  }
  // The pair kernel's entries (reads): per batch, the other rows in row order.
  std::vector<std::vector<word_id_t>> row_of(batches.size()), other_of(batches.size());
  if (reads)
    for (std::size_t b = 0; b < batches.size(); ++b) {
      std::vector<std::vector<word_id_t>> by_row(V);
      for (const WeightedPair& p : batches[b]) by_row[p.i].push_back(p.j), by_row[p.j].push_back(p.i);
      for (int r = 0; r < V; ++r)
        for (const word_id_t o : by_row[r]) row_of[b].push_back(r), other_of[b].push_back(o);
    }
  // One batch's reads over the rows X (W or its float copy): each entry's other row prefetched
  // kAhead entries ahead, as the kernel's kPrefetchAhead, and one value of each cache line of
  // its row (once per row) and of its other row summed, so that no load is dropped.
  auto read_batch = [&](const auto* X, const std::vector<word_id_t>& rows, const std::vector<word_id_t>& others) {
    using Real = std::remove_const_t<std::remove_pointer_t<decltype(X)>>;
    constexpr int kLine = 64 / sizeof(Real);
    constexpr std::size_t kAhead = 16;
    auto row = [&](word_id_t o) { return X + static_cast<std::size_t>(o) * d; };
    double sum = 0;
    for (std::size_t e = 0; e < others.size(); ++e) {
      if (e + kAhead < others.size())
        for (int k = 0; k < d; k += kLine) __builtin_prefetch(row(others[e + kAhead]) + k);
      if (e == 0 || rows[e] != rows[e - 1])
        for (int k = 0; k < d; k += kLine) sum += row(rows[e])[k];
      for (int k = 0; k < d; k += kLine) sum += row(others[e])[k];
    }
    return sum;
  };
  const RowOwnership all{0, static_cast<word_id_t>(V)};
  PairGradients gradients(d, all);
  SharedGradients shared_gradients(d, all, single ? PairPrecision::kSingle : PairPrecision::kDouble);
  double check = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    const double scale = 1.0 / B;
    float* Wf = single ? Ws.data() : nullptr;
    if (reads) {
      const std::vector<word_id_t>& rows = row_of[r % batches.size()];
      const std::vector<word_id_t>& others = other_of[r % batches.size()];
      check += single ? read_batch(Ws.data(), rows, others) : read_batch(W.data(), rows, others);
    } else if (shared) {
      const SharedBatch& batch = groups[r % groups.size()];
      check += (single ? shared_gradients.Compute(Ws.data(), batch, LossKind::kQwem, scale)
                       : shared_gradients.Compute(W.data(), batch, LossKind::kQwem, scale))
                   .loss;
      if (step) shared_gradients.Descend(0.0, W.data(), Wf);
    } else {
      const std::vector<WeightedPair>& batch = batches[r % batches.size()];
      check += (single ? gradients.Compute(Ws.data(), batch, LossKind::kQwem, scale)
                       : gradients.Compute(W.data(), batch, LossKind::kQwem, scale))
                   .loss;
      if (step) gradients.Descend(0.0, W.data(), Wf);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f\n", reps * static_cast<double>(B) * (K + 1) / seconds);
  std::fprintf(stderr, "(loss sum %.6g)\n", check);
  return 0;
}
