// Export of embeddings in word2vec's file format, which gensim, word2vec C and most tools read.
#pragma once

#include <mpi.h>

#include <string>

#include "qwem/common.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// Collective. Writes the embeddings (this rank's rows) in word2vec format: text ("V d", then
// "word x1 .. xd" per line) or, if path ends in ".bin", binary (float32 after "word "), as
// gensim's KeyedVectors.load_word2vec_format reads them. Rank 0 writes, receiving each rank's
// rows in turn (memory: the largest rank's rows); the file appears under its name only when
// complete. Throws qwem::Error on every rank if it cannot be written.
void ExportWord2Vec(MPI_Comm comm, const std::string& path, const Vocabulary& vocab, const LocalRows& embeddings);

}  // namespace qwem
