// Helpers shared by the MPI tests: temporary corpora written by rank 0, the distributed
// pipeline as main() runs it, and gathering distributed results to rank 0 for comparison.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "qwem/cooccurrence.hpp"
#include "qwem/corpus.hpp"
#include "qwem/vocab.hpp"

namespace qwem::test {

// Collective. A fresh empty directory (same path on every rank), removed by the destructor.
class TempDir {
 public:
  explicit TempDir(MPI_Comm comm);
  ~TempDir();
  const std::string& path() const { return path_; }
  // Collective: rank 0 writes the file (raw bytes, or gzip-compressed), then all synchronize.
  void Write(const std::string& name, const std::string& bytes, bool gzip = false) const;

 private:
  MPI_Comm comm_;
  std::string path_;
};

struct PipelineResult {
  Vocabulary vocab;
  CooccurrenceRows rows;
  CountStats stats;
  ReduceStats reduce;
};

// Collective. discover -> read -> vocabulary -> count -> reduce, as in main().
PipelineResult RunPipeline(MPI_Comm comm, const std::string& corpus, std::int64_t vocab_size, std::int64_t min_count,
                           const CountOptions& options);

// Collective. All nonzeros of C on rank 0 (empty elsewhere).
std::map<std::pair<int, int>, std::int64_t> GatherCounts(MPI_Comm comm, const CooccurrenceRows& rows);

std::string ShareDir();  // the repository's share/ directory

}  // namespace qwem::test
