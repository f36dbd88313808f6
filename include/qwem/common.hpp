// Shared vocabulary of the pipeline: index types, errors, and the agreed-status helper that
// turns a failure on some ranks into the same clean error on every rank.
#pragma once

#include <mpi.h>
#include <petscsystypes.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace qwem {

// Allocator for the large buffers of the pipeline (token streams, count buffers, exchanges):
// blocks of 4 MiB and more are mapped directly with transparent huge pages requested, and freed
// blocks are kept (up to 1 GiB) and handed to the next large allocations, since first-touch
// page faults cost 0.25 to 4 s per GiB on the VMs we measured and a reused page nothing.
// Elements are default-initialized (never zeroed), so buffers must be written before read.
void* AllocateLarge(std::size_t bytes);
void FreeLarge(void* p, std::size_t bytes);
// Returns the kept blocks to the system (main calls it after the counting stages).
void ReleaseCachedMemory();

template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(AllocateLarge(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { FreeLarge(p, n * sizeof(T)); }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) ::new (static_cast<void*>(p)) U;
    else ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept { return true; }
};

template <class T>
using big_vector = std::vector<T, BigAllocator<T>>;

// Global quantities (token counts, byte offsets, pair totals, nonzeros) are always 64-bit.
// PETSc's PetscInt is 32-bit in Debian's build, so conversions to it are checked where made.
using global_int_t = std::int64_t;
// A vocabulary id. Vocabularies beyond 2^31 words are not a use case.
using word_id_t = std::int32_t;

// An error whose message is meant for the user (bad input, bad options). Thrown on every rank
// with the same message after an agreed-status check, so main() can print it once and exit.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws qwem::Error with the MPI error string if rc is not MPI_SUCCESS.
void CheckMpi(int rc, const char* what);
#define QWEM_MPI(call) ::qwem::CheckMpi((call), #call)

// Throws std::runtime_error naming `what` if a PETSc/SLEPc call returned an error code.
void PetscThrow(PetscErrorCode rc, const char* what);

// Collective. Every rank passes whether its local work succeeded and, if not, why. If any rank
// failed, every rank throws qwem::Error carrying the message of the lowest failing rank. This is
// the only way local failures cross into collective code: no rank is left waiting in a collective.
void AgreeOrThrow(MPI_Comm comm, bool local_ok, const std::string& local_message);

// Collective. Runs fn() locally; an exception becomes a failed status for AgreeOrThrow.
template <class Fn>
void RunAgreed(MPI_Comm comm, Fn&& fn) {
  bool ok = true;
  std::string message;
  try {
    fn();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  AgreeOrThrow(comm, ok, message);
}

int CommRank(MPI_Comm comm);
int CommSize(MPI_Comm comm);

// Collective. Every rank's n items (trivially copyable), concatenated in rank order on every
// rank: one MPI_Allgather of the byte counts, one MPI_Allgatherv of the bytes.
template <class T>
std::vector<T> AllgatherConcat(MPI_Comm comm, const T* local, std::size_t n) {
  const int size = CommSize(comm);
  int bytes = static_cast<int>(n * sizeof(T));
  std::vector<int> sizes(size), displs(size, 0);
  QWEM_MPI(MPI_Allgather(&bytes, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm));
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + sizes[r - 1];
  std::vector<T> all((displs.back() + sizes.back()) / sizeof(T));
  QWEM_MPI(MPI_Allgatherv(local, bytes, MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE, comm));
  return all;
}

// Collective. Broadcasts a byte string from root.
void BroadcastString(MPI_Comm comm, std::string& s, int root = 0);

// Collective. Element-wise sums / max of int64 values.
global_int_t AllreduceSum(MPI_Comm comm, global_int_t local);
double AllreduceMax(MPI_Comm comm, double local);

// Collective all-to-all of byte buffers. send holds the bytes for rank r at
// [send_displs[r], send_displs[r+1]); the result is what every rank sent here, concatenated in
// source-rank order (so it is deterministic), with recv_displs (size P+1) set accordingly.
// Large transfers go in rounds of at most 256 MiB per peer, so MPI's int counts never overflow.
big_vector<char> ExchangeBytes(MPI_Comm comm, const char* send,
                                const std::vector<std::size_t>& send_displs,
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

// Peak resident set size of this process in bytes (getrusage).
global_int_t PeakRssBytes();

}  // namespace qwem
