#include "qwem/memory.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace qwem {

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
    pick = static_cast<std::size_t>(
        std::max_element(cache.free.begin(), cache.free.end(),
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

CpuSeconds ProcessCpuSeconds() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * t.tv_usec; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

global_int_t PeakRssBytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<global_int_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

NodeMemory NodeMemoryShare(MPI_Comm comm) {
  MPI_Comm node;
  QWEM_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  NodeMemory m;
  m.ranks_here = CommSize(node);
  MPI_Comm_free(&node);
  m.bytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  m.per_rank = m.bytes / m.ranks_here;
  return m;
}

}  // namespace qwem
