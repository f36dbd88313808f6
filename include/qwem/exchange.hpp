// All-to-all exchanges for moving counts and rows to their owner ranks: variable-size byte
// buffers at once, items streamed in bounded rounds, and contiguous row blocks.
#pragma once

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/memory.hpp"

namespace qwem {

// Collective all-to-all of byte buffers. send holds the bytes for rank r at
// [send_displs[r], send_displs[r+1]); the result is what every rank sent here, concatenated in
// source-rank order (so it is deterministic), with recv_displs (size P+1) set accordingly.
// Large transfers go in rounds of at most 256 MiB per peer, so MPI's int counts never overflow.
big_vector<char> ExchangeBytes(MPI_Comm comm, const char* send, const std::vector<std::size_t>& send_displs,
                               std::vector<std::size_t>& recv_displs);

// Bytes a rank packs per round of StreamToOwners, over all its peers.
constexpr std::size_t kStreamRoundBytes = std::size_t{32} << 20;

// Collective. Sends items of type T to their owner ranks in rounds of bounded size and hands
// every item this rank owns to keep(const T&): the ones it emits itself at once, the others
// round by round, in source-rank order within a round. expand(k, emit), for k = 0 .. n-1 in
// order, emits at most max_emits items by emit(owner, item). Items from one source arrive in
// the order it emitted them; nothing else about the order is promised.
// The buffers hold one round (round_bytes over all peers, and at least round_bytes / 512 and
// max_emits items per peer), whatever the total, and are reused round after round: a whole
// exchange at once (hundreds of MB for the sparse counts at V = 100k) spends more time in the
// first touch of its fresh pages than in sending them.
template <class T, class Expand, class Keep>
void StreamToOwners(MPI_Comm comm, std::size_t n, int max_emits, Expand&& expand, Keep&& keep,
                    std::size_t round_bytes = kStreamRoundBytes) {
  static_assert(std::is_trivially_copyable_v<T>);
  const int rank = CommRank(comm), size = CommSize(comm);
  // One slot per peer, so that a slot's displacement (in bytes) fits MPI's int.
  const std::size_t slot_bytes =
      std::min<std::size_t>(std::max(round_bytes / size, round_bytes / 512), static_cast<std::size_t>(INT_MAX) / size);
  const std::size_t slot = std::max<std::size_t>(slot_bytes / sizeof(T), static_cast<std::size_t>(max_emits));
  big_vector<T> send(slot * size), recv(slot * size);
  std::vector<std::size_t> fill(size);
  std::vector<int> scounts(size), rcounts(size), displs(size);
  for (int r = 0; r < size; ++r) displs[r] = static_cast<int>(r * slot * sizeof(T));
  std::size_t k = 0;
  for (;;) {
    std::fill(fill.begin(), fill.end(), 0);
    std::size_t fullest = 0;
    const auto emit = [&](int owner, const T& item) {
      if (owner == rank) {
        keep(item);
        return;
      }
      send[owner * slot + fill[owner]] = item;
      fullest = std::max(fullest, ++fill[owner]);
    };
    for (; k < n && fullest + max_emits <= slot; ++k) expand(k, emit);
    for (int r = 0; r < size; ++r) scounts[r] = static_cast<int>(fill[r] * sizeof(T));
    QWEM_MPI(MPI_Alltoall(scounts.data(), 1, MPI_INT, rcounts.data(), 1, MPI_INT, comm));
    QWEM_MPI(MPI_Alltoallv(send.data(), scounts.data(), displs.data(), MPI_BYTE, recv.data(), rcounts.data(),
                           displs.data(), MPI_BYTE, comm));
    for (int r = 0; r < size; ++r)
      for (std::size_t i = 0; i < rcounts[r] / sizeof(T); ++i) keep(recv[r * slot + i]);
    int more = k < n ? 1 : 0;
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &more, 1, MPI_INT, MPI_LOR, comm));
    if (!more) return;
  }
}

// Collective. StreamToOwners of n items, each to rank owner(item), appended to `into`, which
// grows once, by exactly what arrives (growing by doubling would copy it into fresh pages).
template <class T, class Vector, class OwnerFn>
void StreamAppend(MPI_Comm comm, const T* items, std::size_t n, OwnerFn owner, Vector& into) {
  const int size = CommSize(comm);
  std::vector<long long> sending(size, 0), arriving(size, 0);
  for (std::size_t k = 0; k < n; ++k) ++sending[owner(items[k])];
  QWEM_MPI(MPI_Alltoall(sending.data(), 1, MPI_LONG_LONG, arriving.data(), 1, MPI_LONG_LONG, comm));
  long long total = 0;
  for (long long a : arriving) total += a;
  into.reserve(into.size() + static_cast<std::size_t>(total));
  StreamToOwners<T>(
      comm, n, 1, [&](std::size_t k, auto&& emit) { emit(owner(items[k]), items[k]); },
      [&](const T& item) { into.push_back(item); });
}

// Not collective. n rows in P contiguous ranges of sizes differing by at most one (P + 1 bounds).
std::vector<global_int_t> EvenRanges(global_int_t n, int size);

// Collective. Rows of a row-major matrix with `width` doubles per row, laid out by the ranges
// `from` (this rank holds rows [from[rank], from[rank+1]) in `in`), moved to the layout `to`
// (returned: rows [to[rank], to[rank+1])), by one MPI_Alltoallv of contiguous row blocks. A
// layout balanced for one kind of work (nonzeros) becomes one balanced for another (rows).
std::vector<double> RedistributeRows(MPI_Comm comm, const std::vector<global_int_t>& from,
                                     const std::vector<global_int_t>& to, const double* in, int width);

}  // namespace qwem
