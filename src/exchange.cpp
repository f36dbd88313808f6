#include "qwem/exchange.hpp"

#include <algorithm>
#include <climits>

namespace qwem {

big_vector<char> ExchangeBytes(MPI_Comm comm, const char* send, const std::vector<std::size_t>& send_displs,
                               std::vector<std::size_t>& recv_displs) {
  const int size = CommSize(comm);
  // Per-peer bytes per round: small enough that a round's totals fit MPI's int displacements.
  const std::size_t kRoundBytes = std::min<std::size_t>(std::size_t{256} << 20, INT_MAX / size);

  // One MPI_Alltoall of the byte counts, then rounds of MPI_Alltoallv of bounded size.
  std::vector<long long> send_bytes(size), recv_bytes(size);
  for (int r = 0; r < size; ++r) send_bytes[r] = static_cast<long long>(send_displs[r + 1] - send_displs[r]);
  QWEM_MPI(MPI_Alltoall(send_bytes.data(), 1, MPI_LONG_LONG, recv_bytes.data(), 1, MPI_LONG_LONG, comm));
  recv_displs.assign(size + 1, 0);
  for (int r = 0; r < size; ++r) recv_displs[r + 1] = recv_displs[r] + static_cast<std::size_t>(recv_bytes[r]);
  big_vector<char> recv(recv_displs.back());

  // Totals decide the path on every rank alike: one MPI_Alltoallv straight from the caller's
  // buffer when every rank's byte totals fit MPI's int displacements, else bounded rounds.
  long long local[2] = {0, static_cast<long long>(std::max(send_displs.back(), recv_displs.back()))};
  for (int r = 0; r < size; ++r) local[0] = std::max({local[0], send_bytes[r], recv_bytes[r]});
  long long global[2] = {0, 0};
  QWEM_MPI(MPI_Allreduce(local, global, 2, MPI_LONG_LONG, MPI_MAX, comm));
  const long long global_max = global[0];
  const bool one_call = global[1] <= INT_MAX;
  const long long rounds = std::max<long long>(1, (global_max + kRoundBytes - 1) / kRoundBytes);

  std::vector<int> scounts(size), sdispls(size), rcounts(size), rdispls(size);
  if (one_call) {
    // Everything fits MPI's int counts: no staging copies.
    for (int r = 0; r < size; ++r) {
      scounts[r] = static_cast<int>(send_bytes[r]);
      sdispls[r] = static_cast<int>(send_displs[r]);
      rcounts[r] = static_cast<int>(recv_bytes[r]);
      rdispls[r] = static_cast<int>(recv_displs[r]);
    }
    QWEM_MPI(MPI_Alltoallv(send, scounts.data(), sdispls.data(), MPI_BYTE, recv.data(), rcounts.data(), rdispls.data(),
                           MPI_BYTE, comm));
    return recv;
  }
  std::vector<char> send_round, recv_round;
  for (long long round = 0; round < rounds; ++round) {
    const long long lo = round * static_cast<long long>(kRoundBytes);
    auto piece = [&](long long total) {
      return static_cast<int>(std::clamp<long long>(total - lo, 0, static_cast<long long>(kRoundBytes)));
    };
    int stotal = 0, rtotal = 0;
    for (int r = 0; r < size; ++r) {
      scounts[r] = piece(send_bytes[r]);
      rcounts[r] = piece(recv_bytes[r]);
      sdispls[r] = stotal;
      rdispls[r] = rtotal;
      stotal += scounts[r];
      rtotal += rcounts[r];
    }
    send_round.resize(stotal);
    recv_round.resize(rtotal);
    for (int r = 0; r < size; ++r)
      if (scounts[r] > 0) std::memcpy(send_round.data() + sdispls[r], send + send_displs[r] + lo, scounts[r]);
    QWEM_MPI(MPI_Alltoallv(send_round.data(), scounts.data(), sdispls.data(), MPI_BYTE, recv_round.data(),
                           rcounts.data(), rdispls.data(), MPI_BYTE, comm));
    for (int r = 0; r < size; ++r)
      if (rcounts[r] > 0) std::memcpy(recv.data() + recv_displs[r] + lo, recv_round.data() + rdispls[r], rcounts[r]);
  }
  return recv;
}

std::vector<global_int_t> EvenRanges(global_int_t n, int size) {
  std::vector<global_int_t> ranges(size + 1);
  for (int r = 0; r <= size; ++r) ranges[r] = n * r / size;
  return ranges;
}

std::vector<double> RedistributeRows(MPI_Comm comm, const std::vector<global_int_t>& from,
                                     const std::vector<global_int_t>& to, const double* in, int width) {
  const int rank = CommRank(comm), size = CommSize(comm);
  std::vector<int> scounts(size), sdispls(size), rcounts(size), rdispls(size);
  // The overlap of rows [a0, a1) with [b0, b1), in doubles, offset from a0.
  auto overlap = [&](global_int_t a0, global_int_t a1, global_int_t b0, global_int_t b1, int* count, int* displ) {
    const global_int_t lo = std::max(a0, b0), hi = std::min(a1, b1);
    *count = static_cast<int>(std::max<global_int_t>(0, hi - lo) * width);
    *displ = static_cast<int>(std::max<global_int_t>(0, lo - a0) * width);
  };
  for (int r = 0; r < size; ++r) {
    overlap(from[rank], from[rank + 1], to[r], to[r + 1], &scounts[r], &sdispls[r]);
    overlap(to[rank], to[rank + 1], from[r], from[r + 1], &rcounts[r], &rdispls[r]);
  }
  std::vector<double> out(static_cast<std::size_t>(to[rank + 1] - to[rank]) * width);
  QWEM_MPI(MPI_Alltoallv(in, scounts.data(), sdispls.data(), MPI_DOUBLE, out.data(), rcounts.data(), rdispls.data(),
                         MPI_DOUBLE, comm));
  return out;
}

}  // namespace qwem
