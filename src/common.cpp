#include "qwem/common.hpp"

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <new>

namespace qwem {

void PetscThrow(PetscErrorCode rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("PETSc call failed: ") + what);
}

void CheckMpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("MPI call failed: ") + what + ": " + std::string(text, len));
}

int CommRank(MPI_Comm comm) {
  int r = 0;
  QWEM_MPI(MPI_Comm_rank(comm, &r));
  return r;
}

int CommSize(MPI_Comm comm) {
  int p = 0;
  QWEM_MPI(MPI_Comm_size(comm, &p));
  return p;
}

void AgreeOrThrow(MPI_Comm comm, bool local_ok, const std::string& local_message) {
  // The lowest failing rank speaks; MPI_MIN over (failed ? rank : size) finds it.
  const int size = CommSize(comm);
  int candidate = local_ok ? size : CommRank(comm);
  int speaker = size;
  QWEM_MPI(MPI_Allreduce(&candidate, &speaker, 1, MPI_INT, MPI_MIN, comm));
  if (speaker == size) return;
  std::string message = local_message;
  BroadcastString(comm, message, speaker);
  throw Error(message);
}

void BroadcastString(MPI_Comm comm, std::string& s, int root) {
  long long n = static_cast<long long>(s.size());
  QWEM_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm));
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) QWEM_MPI(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, comm));
}

global_int_t AllreduceSum(MPI_Comm comm, global_int_t local) {
  global_int_t global = 0;
  QWEM_MPI(MPI_Allreduce(&local, &global, 1, MPI_INT64_T, MPI_SUM, comm));
  return global;
}

double AllreduceMax(MPI_Comm comm, double local) {
  double global = 0;
  QWEM_MPI(MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, comm));
  return global;
}

namespace {
constexpr std::size_t kLargeBytes = std::size_t{4} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Freed mappings kept for the next large allocations, at most kCacheBytes in all.
constexpr std::size_t kCacheBytes = std::size_t{1} << 30;

struct Mapping {
  char* p;
  std::size_t bytes;
};

struct MappingCache {
  std::mutex mutex;
  std::vector<Mapping> free;  // oldest first
  std::size_t bytes = 0;
};

MappingCache& Cache() {
  static MappingCache cache;
  return cache;
}

std::size_t RoundToHugePages(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

void AdviseHugePages(void* p, std::size_t bytes) {
  if (!std::getenv("QWEM_NO_HUGEPAGE")) madvise(p, bytes, MADV_HUGEPAGE);  // a hint; fine if the kernel declines
}

void* MapFresh(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  AdviseHugePages(p, bytes);
  return p;
}
}  // namespace

void* AllocateLarge(std::size_t bytes) {
  if (bytes < kLargeBytes) {
    void* p = std::malloc(bytes > 0 ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  bytes = RoundToHugePages(bytes);
  MappingCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (cache.free.empty()) return MapFresh(bytes);
  // The smallest cached mapping that is large enough, else the largest one, grown.
  std::size_t pick = cache.free.size();
  for (std::size_t i = 0; i < cache.free.size(); ++i) {
    const std::size_t b = cache.free[i].bytes;
    if (b >= bytes && (pick == cache.free.size() || b < cache.free[pick].bytes)) pick = i;
  }
  if (pick == cache.free.size())
    pick = static_cast<std::size_t>(std::max_element(cache.free.begin(), cache.free.end(),
                                                     [](const Mapping& a, const Mapping& b) { return a.bytes < b.bytes; }) -
                                    cache.free.begin());
  const Mapping m = cache.free[pick];
  cache.free.erase(cache.free.begin() + static_cast<std::ptrdiff_t>(pick));
  cache.bytes -= m.bytes;
  if (m.bytes > bytes) {
    munmap(m.p + bytes, m.bytes - bytes);
    return m.p;
  }
  if (m.bytes == bytes) return m.p;
  void* p = mremap(m.p, m.bytes, bytes, MREMAP_MAYMOVE);  // keeps the touched pages, maps the rest
  if (p == MAP_FAILED) {
    munmap(m.p, m.bytes);
    return MapFresh(bytes);
  }
  AdviseHugePages(p, bytes);
  return p;
}

void FreeLarge(void* p, std::size_t bytes) {
  if (!p) return;
  if (bytes < kLargeBytes) {
    std::free(p);
    return;
  }
  bytes = RoundToHugePages(bytes);
  MappingCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.free.push_back({static_cast<char*>(p), bytes});
  cache.bytes += bytes;
  while (cache.bytes > kCacheBytes) {
    munmap(cache.free.front().p, cache.free.front().bytes);
    cache.bytes -= cache.free.front().bytes;
    cache.free.erase(cache.free.begin());
  }
}

void ReleaseCachedMemory() {
  MappingCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  for (const Mapping& m : cache.free) munmap(m.p, m.bytes);
  cache.free.clear();
  cache.bytes = 0;
}

big_vector<char> ExchangeBytes(MPI_Comm comm, const char* send,
                                const std::vector<std::size_t>& send_displs,
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

global_int_t PeakRssBytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<global_int_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace qwem
