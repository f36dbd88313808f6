// The count phase: the continuation exchange, the local kernel in chunks, and the lock-step
// flushes of the sparse buffers (see cooccurrence.hpp).
#include <algorithm>

#include "qwem/cooccurrence.hpp"
#include "qwem/exchange.hpp"

namespace qwem {

namespace {

// Tokens that follow this rank's last document in the next ranks' shards: the first L
// in-vocabulary tokens of the next ranks, up to the first boundary. Each rank publishes its
// head (up to L tokens before its first boundary, and whether a boundary ended it); one
// MPI_Allgather, then every rank walks forward through the heads.
std::vector<word_id_t> GatherContinuation(MPI_Comm comm, const big_vector<word_id_t>& stream, int window) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const int width = window + 2;
  std::vector<word_id_t> head(width, 0);  // [n, closed, tokens...]
  for (const word_id_t x : stream) {
    if (x == kBoundary) {
      head[1] = 1;
      break;
    }
    head[2 + head[0]++] = x;
    if (head[0] == window) break;
  }
  std::vector<word_id_t> all(static_cast<std::size_t>(width) * size);
  QWEM_MPI(MPI_Allgather(head.data(), width, MPI_INT32_T, all.data(), width, MPI_INT32_T, comm));
  std::vector<word_id_t> cont;
  for (int s = rank + 1; s < size && static_cast<int>(cont.size()) < window; ++s) {
    const word_id_t* h = all.data() + static_cast<std::size_t>(width) * s;
    for (int k = 0; k < h[0] && static_cast<int>(cont.size()) < window; ++k) cont.push_back(h[2 + k]);
    if (h[1]) break;
  }
  return cont;
}

// Collective. Sorts and combines the kernel's sparse buffer and sends it to the stage-1 owners
// (row lo, cyclic), which keep what they receive in `owned`. Owners compact `owned` (sort and
// combine what the flushes since the last compaction appended) once it has grown by more than
// its compacted size plus a sparse buffer's worth, which bounds its memory on long corpora;
// never at the last flush, since the reduce starts by sorting and combining it anyway. Returns
// whether it compacted.
bool FlushSparse(MPI_Comm comm, PartialCounts& partial, bool last, std::size_t& owned_compacted,
                 big_vector<SparseEntry>& scratch) {
  const auto V = static_cast<std::uint64_t>(partial.counter.n_words());
  const auto size = static_cast<std::uint64_t>(CommSize(comm));
  big_vector<SparseEntry>& sparse = partial.counter.sparse();
  SortAndCombine(sparse, V * V, scratch);
  StreamAppend(
      comm, sparse.data(), sparse.size(), [&](const SparseEntry& e) { return static_cast<int>((e.key / V) % size); },
      partial.owned);
  sparse.clear();
  if (last || partial.owned.size() <= 2 * owned_compacted + partial.counter.sparse_capacity()) return false;
  SortAndCombine(partial.owned, V * V, scratch);
  owned_compacted = partial.owned.size();
  return true;
}

}  // namespace

PartialCounts CountPairs(MPI_Comm comm, TokenIds&& ids, global_int_t n_words, const CountOptions& options,
                         CountStats* stats, const ProgressLines& progress) {
  // One array: [byte range][continuation][boundary][whole files]. First positions are the byte
  // range and the whole files; the continuation only serves as partners of the range's tail.
  big_vector<word_id_t> stream = std::move(ids.range);
  const std::vector<word_id_t> cont = GatherContinuation(comm, stream, options.window);
  const std::size_t n_range = stream.size();
  stream.insert(stream.end(), cont.begin(), cont.end());
  stream.push_back(kBoundary);
  const std::size_t whole_begin = stream.size();
  stream.insert(stream.end(), ids.whole.begin(), ids.whole.end());
  ids.whole = {};
  const std::size_t spans[2][2] = {{0, n_range}, {whole_begin, stream.size()}};

  // Lock step: every rank counts a chunk, then one MPI_Allreduce decides whether all ranks
  // flush the sparse buffers (some rank's is full), and whether all are done.
  PartialCounts partial{PairCounter(n_words, options.window, options.buffer_bytes), {}};
  PairCounter& counter = partial.counter;
  big_vector<SparseEntry> scratch;
  std::size_t owned_compacted = 0;
  int n_flushes = 0, n_compactions = 0;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::size_t span = 0, t = 0;
  double kernel_seconds = 0;
  const std::size_t n_first = n_range + (stream.size() - whole_begin);  // first positions here
  ProgressMeter meter(progress, "count", static_cast<double>(n_first), "positions");
  for (;;) {
    const double k0 = MPI_Wtime();
    std::size_t budget = kChunk;
    while (span < 2 && budget > 0) {
      const std::size_t from = std::max(t, spans[span][0]);
      t = counter.Count(stream, from, spans[span][1], budget);
      budget -= std::min(budget, t - from);
      if (t < spans[span][1]) break;  // buffer full or budget used
      ++span;
    }
    kernel_seconds += MPI_Wtime() - k0;
    int flags[2] = {counter.SparseNearlyFull() ? 1 : 0, span < 2 ? 1 : 0};
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, comm));
    const bool all_done = flags[1] == 0;
    if (flags[0] || all_done) {
      n_compactions += FlushSparse(comm, partial, all_done, owned_compacted, scratch) ? 1 : 0;
      ++n_flushes;
    }
    if (all_done) break;
    meter.Update(static_cast<double>(span == 0 ? t : span == 1 ? n_range + (t - whole_begin) : n_first));
  }
  if (stats) {
    stats->n_local_positions = counter.n_positions();
    stats->dense_words = counter.dense_words();
    stats->n_sparse_flushes = n_flushes;
    stats->n_owner_compactions = n_compactions;
    stats->kernel_seconds = kernel_seconds;
  }
  return partial;
}

CooccurrenceRows CountCooccurrences(MPI_Comm comm, TokenIds&& ids, global_int_t n_words, const CountOptions& options,
                                    CountStats* stats) {
  return ReduceCounts(comm, CountPairs(comm, std::move(ids), n_words, options, stats));
}

}  // namespace qwem
