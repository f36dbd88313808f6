#include "test_util.hpp"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "qwem/common.hpp"

namespace qwem::test {

TempDir::TempDir(MPI_Comm comm) : comm_(comm) {
  std::string p;
  if (CommRank(comm) == 0) {
    char tmpl[] = "/tmp/qwem-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    p = tmpl;
  }
  BroadcastString(comm, p);
  path_ = p;
}

TempDir::~TempDir() {
  MPI_Barrier(comm_);
  if (CommRank(comm_) == 0) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

void TempDir::Write(const std::string& name, const std::string& bytes, bool gzip) const {
  if (CommRank(comm_) == 0) {
    const std::filesystem::path full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full.parent_path());
    if (gzip) {
      gzFile gz = gzopen(full.c_str(), "wb");
      gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(gz);
    } else {
      std::ofstream(full, std::ios::binary) << bytes;
    }
  }
  MPI_Barrier(comm_);
}

PipelineResult RunPipeline(MPI_Comm comm, const std::string& corpus, std::int64_t vocab_size, std::int64_t min_count,
                           const CountOptions& options) {
  const CorpusPlan plan = DiscoverCorpus(comm, corpus);
  LocalShard shard;
  RunAgreed(comm, [&] { ReadShard(plan, CommRank(comm), shard); });
  PipelineResult r;
  VocabOptions vocab_options;
  vocab_options.size = vocab_size;
  vocab_options.min_count = min_count;
  r.vocab = ReduceVocabulary(comm, shard.words, vocab_options);
  TokenIds ids = MapToVocabulary(r.vocab, std::move(shard));
  PartialCounts partial = CountPairs(comm, std::move(ids), r.vocab.size(), options, &r.stats);
  r.rows = ReduceCounts(comm, std::move(partial), &r.reduce);
  return r;
}

std::map<std::pair<int, int>, std::int64_t> GatherCounts(MPI_Comm comm, const CooccurrenceRows& rows) {
  std::vector<std::int64_t> triples;
  for (global_int_t r = 0; r < rows.n_local_rows(); ++r)
    for (global_int_t k = rows.row_ptr[r]; k < rows.row_ptr[r + 1]; ++k) {
      triples.push_back(rows.row_begin + r);
      triples.push_back(rows.cols[k]);
      triples.push_back(rows.values[k]);
    }
  const int size = CommSize(comm);
  int n = static_cast<int>(triples.size());
  std::vector<int> counts(size), displs(size, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<std::int64_t> all(CommRank(comm) == 0 ? displs[size - 1] + counts[size - 1] : 0);
  MPI_Gatherv(triples.data(), n, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T, 0, comm);
  std::map<std::pair<int, int>, std::int64_t> out;
  for (std::size_t i = 0; i < all.size(); i += 3)
    out[{static_cast<int>(all[i]), static_cast<int>(all[i + 1])}] = all[i + 2];
  return out;
}

std::string ShareDir() { return QWEM_SOURCE_DIR "/share"; }

}  // namespace qwem::test
