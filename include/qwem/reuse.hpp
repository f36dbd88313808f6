// Inputs read back from earlier qwem-dist outputs, so that a sweep does not redo the expensive
// stages: the counts and their vocabulary (--counts-from, a file written with
// --save-cooccurrence) and the eigenpairs (--eigen-from). Each is refused, with one line naming
// the file and the difference, when it does not belong to this run's settings.
#pragma once

#include <mpi.h>

#include <string>

#include "qwem/cooccurrence.hpp"
#include "qwem/corpus.hpp"
#include "qwem/eigen.hpp"
#include "qwem/options.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// What an earlier run counted: its vocabulary, this rank's rows of C (balanced by nonzeros, as
// ReduceCounts lays them out), and the corpus description and settings it was counted with.
struct SavedCounts {
  Vocabulary vocab;
  CooccurrenceRows counts;
  CorpusPlan plan;             // the source's files and byte totals (no ranges: nothing is read)
  ReadStats read;              // n_overlong only
  VocabOptions vocab_options;  // --vocab-size and --min-count of the source
  int window = 0;
};

// Collective. The counts of `path` (/vocab, /cooccurrence, /corpus, /meta). `options` are this
// run's: a --window, --vocab-size or --min-count given on the command line (Options::Given) must
// equal the source's. Throws qwem::Error on every rank naming the file and
// the problem (no /cooccurrence: "run it with --save-cooccurrence").
SavedCounts LoadCounts(MPI_Comm comm, const std::string& path, const Options& options);

// Collective (rank 0 reads). Before any work: the settings of --eigen-from's eigenpairs (target
// kind, nu, cds, shift, at least `dim` of them) are this run's; throws qwem::Error on every rank.
void CheckEigenpairsFile(MPI_Comm comm, const std::string& path, const TargetOptions& target, int dim);

// Collective. The eigenpairs of an earlier output (/spectrum), this rank's rows
// [row_begin, row_end), the first up_to of them (or all it has, if fewer, but at least
// `at_least`). The file's vocabulary and window must be this run's, and its target (kind, nu,
// cds, shift) the one this run asks for. Throws qwem::Error on every rank naming the file and
// the difference, also if it holds fewer than `at_least` eigenpairs.
EigenResult LoadEigenpairs(MPI_Comm comm, const std::string& path, int window, const Vocabulary& vocab,
                           const TargetOptions& target, global_int_t row_begin, global_int_t row_end, int at_least,
                           int up_to);

}  // namespace qwem
