// All-to-all exchanges of variable-size byte buffers, for moving counts to their owner ranks.
#pragma once

#include <cstring>
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

// Collective. Sends each of the n items to rank owner(item) (a pure function of the item) and
// returns the received bytes: whole items of type T, in source-rank order, sizes in recv_displs.
// Items are packed into one send buffer by a counting pass, so there is no per-rank copy.
template <class T, class OwnerFn>
big_vector<char> ExchangeByOwner(MPI_Comm comm, const T* items, std::size_t n, OwnerFn owner,
                                 std::vector<std::size_t>& recv_displs) {
  const int size = CommSize(comm);
  std::vector<std::size_t> displs(size + 1, 0);
  for (std::size_t i = 0; i < n; ++i) displs[owner(items[i]) + 1] += sizeof(T);
  for (int r = 0; r < size; ++r) displs[r + 1] += displs[r];
  big_vector<char> send(displs.back());
  std::vector<std::size_t> fill(displs.begin(), displs.end() - 1);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t& at = fill[owner(items[i])];
    std::memcpy(send.data() + at, &items[i], sizeof(T));
    at += sizeof(T);
  }
  return ExchangeBytes(comm, send.data(), displs, recv_displs);
}

// Collective. ExchangeByOwner of n items, appended (as T) to `into`.
template <class T, class Vector, class OwnerFn>
void ExchangeAppend(MPI_Comm comm, const T* items, std::size_t n, OwnerFn owner, Vector& into) {
  std::vector<std::size_t> displs;
  const big_vector<char> got = ExchangeByOwner(comm, items, n, owner, displs);
  const std::size_t at = into.size();
  into.resize(at + got.size() / sizeof(T));
  if (!got.empty()) std::memcpy(into.data() + at, got.data(), got.size());
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
