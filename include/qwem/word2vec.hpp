// word2vec's file formats, which gensim, word2vec C and most tools read: embeddings (-output)
// and vocabularies (-save-vocab / -read-vocab).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// Collective. Writes the embeddings (this rank's rows) in word2vec format: text ("V d", then
// "word x1 .. xd" per line) or, if path ends in ".bin", binary (float32 after "word "), as
// gensim's KeyedVectors.load_word2vec_format reads them. Rank 0 writes, receiving each rank's
// rows in turn (memory: the largest rank's rows); the file appears under its name only when
// complete. Throws qwem::Error on every rank if it cannot be written.
void ExportWord2Vec(MPI_Comm comm, const std::string& path, const Vocabulary& vocab, const LocalRows& embeddings);

// Collective. Writes the vocabulary as word2vec's -save-vocab does: "word count" per line, in id
// order (count descending, then byte order). Rank 0 writes; the file appears only when complete.
// Throws qwem::Error on every rank if it cannot be written.
void SaveVocabulary(MPI_Comm comm, const std::string& path, const Vocabulary& vocab);

// Collective (rank 0 reads, every rank gets the result). The words of a vocabulary file in
// word2vec's -save-vocab format (gensim and word2vec C write it): "word count" per line, blank
// lines ignored, word2vec's end-of-sentence entry "</s>" skipped (qwem-dist has no such token).
// Throws qwem::Error on every rank naming the file and line of a malformed line or a repeated
// word, or if the file lists no word.
std::vector<std::string> ReadVocabularyFile(MPI_Comm comm, const std::string& path);

}  // namespace qwem
