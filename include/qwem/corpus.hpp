// Corpus discovery and sharding. A corpus is a file or a directory walked recursively (files
// in byte order of their paths; names starting with '.' skipped). Plain files are concatenated
// into one global byte space that is split evenly across ranks; each rank reads only its range,
// cut at unit boundaries (tokens for plain text, lines for WikiExtractor files), so every unit
// belongs to exactly one rank: the rank whose range holds its first byte. Gzip files cannot be
// split and are assigned whole, balanced by uncompressed size.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/options.hpp"
#include "qwem/tokenizer.hpp"

namespace qwem {

struct CorpusFile {
  std::string path;
  global_int_t bytes = 0;       // size on disk
  global_int_t text_bytes = 0;  // uncompressed size (gzip: from the trailer, mod 2^32)
  bool gzip = false;
  TextFormat format = TextFormat::kPlain;
  global_int_t offset = -1;  // start in the global plain byte space (plain files only)
};

struct CorpusPlan {
  std::vector<CorpusFile> files;  // sorted by path
  global_int_t plain_bytes = 0;   // total size of plain files
  global_int_t gzip_bytes = 0;    // total compressed size of gzip files
  // Rank r reads plain bytes [range_begin[r], range_begin[r+1]) and the gzip files gzip_of[r].
  std::vector<global_int_t> range_begin;
  std::vector<std::vector<int>> gzip_of;
};

// The paths of the plan's files, in order.
std::vector<std::string> CorpusFilePaths(const CorpusPlan& plan);

// Collective. Rank 0 walks `path`, sizes and sniffs every file, and computes the plan for
// `n_ranks` ranks; the plan is broadcast. Throws qwem::Error on every rank for a missing path,
// a directory without files, or an unreadable file.
CorpusPlan DiscoverCorpus(MPI_Comm comm, const std::string& path);

// Not collective. The discovery and planning of DiscoverCorpus for a given rank count, without
// MPI: used by rank 0 and by tests.
CorpusPlan PlanCorpus(const std::string& path, int n_ranks);

// Not collective. Reads rank `rank`'s share of the corpus and feeds it to sink (Token / Boundary,
// see tokenizer.hpp). A Boundary is emitted at the start of every file and at WikiExtractor tag
// lines; a range starting in the middle of a plain file continues the document of the rank
// before it. The byte range comes first, then sink.WholeFiles(), then the gzip files.
struct ReadStats {
  global_int_t bytes_read = 0;
  global_int_t text_bytes = 0;  // bytes tokenized (after decompression)
  global_int_t n_tokens = 0;    // tokens passed to the sink
  global_int_t n_overlong = 0;  // tokens skipped for exceeding the length limit
};

class TokenSink {
 public:
  virtual ~TokenSink() = default;
  virtual void Token(std::string_view token) = 0;
  virtual void Boundary() = 0;
  // Called once, after the byte range: what follows are whole files (gzip) whose documents
  // neither continue from nor into another rank's shard.
  virtual void WholeFiles() {}
};

// Not collective. Rank `rank`'s share of the plan into the sink, with progress lines (bytes/s,
// tokens/s, time left) if `progress` asks for them.
ReadStats ReadShard(const CorpusPlan& plan, int rank, TokenSink& sink,
                    std::size_t max_token_bytes = kDefaultMaxTokenBytes, const ProgressLines& progress = {});

// Collective. ReadShard on every rank, with failures agreed (the lowest failing rank's message
// on every rank); returns the totals over all ranks. Throws qwem::Error on every rank if the
// corpus has no tokens.
ReadStats ReadCorpus(MPI_Comm comm, const CorpusPlan& plan, const CorpusOptions& options, TokenSink& sink,
                     const ProgressLines& progress = {});

}  // namespace qwem
