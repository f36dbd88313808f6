// The results layout of qwem-dist's HDF5 file (what users load into their own tools; README
// "Output"), one writer per group or dataset. /meta is written by provenance.hpp, /train by
// checkpoint.hpp.
//   /corpus       attributes: token, word, byte and pair totals; /corpus/files, /corpus/file_bytes
//   /vocab        words (fixed-length UTF-8 strings, id order: count descending, ties by byte
//                 order) and counts (int64)
//   /cooccurrence CSR of C (with --save-cooccurrence): indptr (V+1, int64), indices (int32),
//                 data (int64)
//   /embeddings   V x d: the closed form W = V diag(max(lambda, 0)^p), or the trained W
//   /spectrum     eigenvalues (d), eigenvectors (V x d), residuals (d); attributes: target,
//                 operator, solver settings and counts; full_eigenvalues with --full-spectrum
//   /eval         analogy accuracy (standard and pair protocols) and word-similarity results
//   /concepts     per top eigenvector: eigenvalue, ids and words of its extreme entries
//   /timings      phase names, wall seconds and peak memory; counting details as attributes
// All writers are collective, with the same replicated arguments on every rank.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qwem/cooccurrence.hpp"
#include "qwem/corpus.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/h5io.hpp"
#include "qwem/options.hpp"
#include "qwem/report.hpp"
#include "qwem/target.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

void WriteCorpus(h5::OutputFile& out, const CorpusPlan& plan, const ReadStats& read, const Vocabulary& vocab,
                 const CooccurrenceRows& counts);
void WriteVocabulary(h5::OutputFile& out, const Vocabulary& vocab);
void WriteCooccurrence(h5::OutputFile& out, MPI_Comm comm, const CooccurrenceRows& rows);

// /embeddings: the closed form or the trained W, with the formula that made them.
void WriteEmbeddings(h5::OutputFile& out, const Embeddings& embeddings);

// /spectrum: the eigenpairs and how they were computed (solved: here, so the solver's settings
// are known; not when they were loaded).
void WriteSpectrum(h5::OutputFile& out, const EigenResult& eig, global_int_t n_words, const TargetOptions& target,
                   bool solved);
void WriteFullSpectrum(h5::OutputFile& out, const std::vector<double>& eigenvalues);

void WriteAnalogies(h5::OutputFile& out, const AnalogyReport& report);
void WriteSimilarity(h5::OutputFile& out, const SimilarityReport& report);
void WriteConcepts(h5::OutputFile& out, const std::vector<Concept>& concepts, const Vocabulary& vocab,
                   const EigenResult& eig);

// /timings: the phases as the report recorded them, and the counting details.
void WriteTimings(h5::OutputFile& out, MPI_Comm comm, const std::vector<PhaseRecord>& phases, const CountStats& count,
                  const ReduceStats& reduce);

// Not collective. About how many bytes a result file takes (its large datasets, plus 1 MiB for
// the rest), for the free-space check before writing: V words, nnz saved counts (0: none), the
// eigenvectors' and embeddings' columns, and n_matrices more V x d matrices (/train's snapshots
// and state).
double EstimateOutputBytes(const Vocabulary& vocab, global_int_t saved_nnz, int eig_dim, int emb_dim, int n_matrices,
                           int train_dim);

}  // namespace qwem
