// The layout of qwem-dist's HDF5 file (what users load into their own tools):
//   /meta         attributes: version, command_line, ranks, vocab_size, window, weighting, timestamp,
//                 library versions
//   /vocab/words  fixed-length byte strings, id order (count descending, ties by byte order)
//   /vocab/counts int64
//   /corpus       attributes: token, word, byte and pair totals; /corpus/files, /corpus/file_bytes
//   /cooccurrence CSR of C (with --save-cooccurrence): indptr (V+1, int64), indices (int32),
//                 data (int64), attributes shape and n_pairs
//   /embeddings   V x d closed-form embeddings W = V diag(max(lambda, 0)^p)
//   /spectrum     eigenvalues (d), eigenvectors (V x d), residuals (d); attributes: target,
//                 operator, solver settings and counts
//   /eval         analogy accuracy (standard and pair protocols, overall/semantic/syntactic as
//                 attributes; per-section datasets) and word-similarity results
//   /concepts     per top eigenvector: eigenvalue, ids and words of its extreme entries
//   /timings      phase names and wall seconds
#pragma once

#include <string>

#include "qwem/cli.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/target.hpp"
#include "qwem/corpus.hpp"
#include "qwem/h5io.hpp"
#include "qwem/progress.hpp"
#include "qwem/sgd.hpp"
#include "qwem/train.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// Where the job runs: the distinct host names of the ranks (in rank order of first
// appearance) and the SLURM job id when there is one (SLURM_JOB_ID, else "").
struct Placement {
  int ranks = 0;
  std::vector<std::string> nodes;
  std::string slurm_job_id;
  // "2 ranks on 1 node (vm)", "256 ranks on 8 nodes (n01, n02, n03, ... n08), SLURM job 42"
  std::string Describe() const;
};
// Collective; every rank gets the same result.
Placement GatherPlacement(MPI_Comm comm);

// All collective; every rank passes the same replicated arguments.
void WriteMeta(h5::OutputFile& out, MPI_Comm comm, const Options& options, global_int_t vocab_size,
               const Placement& placement);
void WriteCorpus(h5::OutputFile& out, const CorpusPlan& plan, const Vocabulary& vocab, const CooccurrenceRows& rows,
                 global_int_t n_overlong_tokens);
void WriteVocabulary(h5::OutputFile& out, const Vocabulary& vocab);
void WriteCooccurrence(h5::OutputFile& out, MPI_Comm comm, const CooccurrenceRows& rows);
void WriteTimings(h5::OutputFile& out, const Progress& progress);
void WriteSpectrum(h5::OutputFile& out, const EigenResult& eig, const std::vector<double>& embeddings,
                   global_int_t n_words, const Options& options, const OperatorChoice& choice);
void WriteEvaluation(h5::OutputFile& out, const AnalogyReport* analogies, const std::vector<SimilarityReport>& similarity,
                     const std::vector<Concept>& concepts, const Vocabulary& vocab, const EigenResult& eig);

// Not collective (rank 0 prints): the evaluation as progress lines: both analogy protocols
// overall and per section, similarity, and the concept words.
void SayEvaluation(const Progress& progress, const AnalogyReport* analogies,
                   const std::vector<SimilarityReport>& similarity, const std::vector<Concept>& concepts,
                   const Vocabulary& vocab, const EigenResult& eig);

// Collective. Writes the embeddings in word2vec format, text ("V d" then "word x1 .. xd" per
// line) or, if path ends in ".bin", binary (float32 after "word "), as gensim's
// KeyedVectors.load_word2vec_format reads them. Rank 0 writes, receiving each rank's rows in
// turn (memory: the largest rank's rows); the file appears under its name only when complete.
void ExportWord2Vec(MPI_Comm comm, const std::string& path, const Vocabulary& vocab, const EigenResult& eig,
                    const std::vector<double>& embeddings);

// A 64-bit fingerprint (hex) of the vocabulary's words and counts: resume files must match it.
std::string VocabularyFingerprint(const Vocabulary& vocab);

// Collective. /train (see README "Output"): settings as attributes, the recorded series, the
// log-spaced checkpoints of W and the state to resume from (/train/state/W at the last step).
void WriteTraining(h5::OutputFile& out, MPI_Comm comm, const TrainRecord& record, const Trainer& trainer,
                   const Options& options, const Vocabulary& vocab);

// Collective. Reads a resume file written by WriteTraining: checks that it was made with the
// same vocabulary and training settings (throws qwem::Error naming the first difference, or
// the problem with a corrupt file, on every rank), returns the series so far, and this rank's
// rows [row_begin, row_end) of W at the last checkpoint in *state (its step in record.completed_steps),
// and, if output_state is given, those of the output vectors (/train/state/C, required then).
TrainRecord ReadTraining(MPI_Comm comm, const std::string& path, const Options& options, const Vocabulary& vocab,
                         global_int_t row_begin, global_int_t row_end, std::vector<double>* state,
                         std::vector<double>* output_state = nullptr);

// Collective. M*'s eigenpairs from an earlier output file (/spectrum), this rank's rows
// [row_begin, row_end), at most `dim` of them; the vocabulary and window must match.
EigenResult LoadEigenpairs(MPI_Comm comm, const std::string& path, const Options& options, const Vocabulary& vocab,
                           global_int_t row_begin, global_int_t row_end, int dim);

// "Open MPI v4.1.4, ..." first line of MPI_Get_library_version; PETSc and SLEPc version strings.
std::string MpiVersion();
std::string PetscVersion();
std::string SlepcVersion();

}  // namespace qwem
