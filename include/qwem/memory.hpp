// Memory for the large buffers of the pipeline (token streams, count buffers, exchanges).
// Blocks of 4 MiB and more are mapped directly with transparent huge pages requested, and freed
// blocks are kept (up to 1 GiB) and handed to the next large allocations, since first-touch page
// faults cost 0.25 to 4 s per GiB on the VMs we measured and a reused page nothing.
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// Not collective. Elements are default-initialized (never zeroed): buffers must be written
// before they are read.
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
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using big_vector = std::vector<T, BigAllocator<T>>;

// Peak resident set size of this process in bytes (getrusage).
global_int_t PeakRssBytes();

// CPU time this process has used so far (getrusage), in seconds: in its own code and libraries
// (user; MPI's polling while it waits counts here), and in the kernel on its behalf (system:
// page faults, the zeroing of fresh pages, file I/O).
struct CpuSeconds {
  double user = 0, system = 0;
};
CpuSeconds ProcessCpuSeconds();

// Collective. The node's physical memory and its share per rank on this node (ranks sharing the
// node counted by MPI_COMM_TYPE_SHARED).
struct NodeMemory {
  double bytes = 0, per_rank = 0;
  int ranks_here = 1;
};
NodeMemory NodeMemoryShare(MPI_Comm comm);

}  // namespace qwem
