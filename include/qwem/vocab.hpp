// Vocabulary: each rank counts its shard's words locally, words are merged at an owner rank
// chosen by hash, and the global top-V (count descending, ties by byte order of the word,
// then min-count) is selected by a tree merge of per-owner top-V lists, so no rank ever holds
// every distinct word. Every rank ends with the same Vocabulary.
#pragma once

#include <mpi.h>

#include <string>
#include <string_view>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/corpus.hpp"
#include "qwem/memory.hpp"
#include "qwem/options.hpp"

namespace qwem {

// Hash of a word; identical on every rank (it picks the word's owner rank).
std::uint64_t HashWord(std::string_view w);

// Not collective. An open-addressing hash table from words to dense ids 0..size-1 with counts.
// Words live in one byte arena, so millions of short words cost little more than their bytes.
class WordTable {
 public:
  WordTable();
  // Adds `count` occurrences of w and returns its id.
  word_id_t Add(std::string_view w, global_int_t count = 1);
  // Id of w, or -1.
  word_id_t Find(std::string_view w) const;
  std::size_t size() const { return counts_.size(); }
  std::string_view word(word_id_t id) const {
    return {arena_.data() + offsets_[id], static_cast<std::size_t>(offsets_[id + 1] - offsets_[id])};
  }
  global_int_t count(word_id_t id) const { return counts_[id]; }

 private:
  struct Slot {
    word_id_t id;
    std::uint32_t tag;  // high bits of the hash, checked before comparing bytes
  };
  void Grow();
  std::vector<char> arena_;
  std::vector<std::uint64_t> offsets_{0};
  std::vector<global_int_t> counts_;
  std::vector<std::uint64_t> hashes_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

// Not collective. One rank's shard as read: local dictionary and the token streams as local ids
// with kBoundary between documents (never two in a row). `stream` is the byte range, whose first
// and last documents may continue in the neighbouring ranks; `whole` holds the documents of
// whole (gzip) files, which do not.
class LocalShard : public TokenSink {
 public:
  void Token(std::string_view token) override { current_->push_back(words.Add(token)); }
  void Boundary() override {
    if (current_->empty() || current_->back() != kBoundary) current_->push_back(kBoundary);
  }
  void WholeFiles() override { current_ = &whole; }
  WordTable words;
  big_vector<word_id_t> stream;
  big_vector<word_id_t> whole;

 private:
  big_vector<word_id_t>* current_ = &stream;
};

struct Vocabulary {
  std::vector<std::string> words;  // id order: count descending, then byte order
  std::vector<global_int_t> counts;
  global_int_t n_total_tokens = 0;     // all tokens of the corpus
  global_int_t n_distinct_words = 0;   // distinct words of the corpus
  global_int_t n_in_vocab_tokens = 0;  // tokens whose word is in the vocabulary
  global_int_t requested_size = 0;     // V asked for; size() is smaller if clamped
  WordTable index;                     // word -> id

  global_int_t size() const { return static_cast<global_int_t>(words.size()); }
  bool clamped() const { return size() < requested_size; }
  double coverage() const {
    return n_total_tokens > 0 ? static_cast<double>(n_in_vocab_tokens) / static_cast<double>(n_total_tokens) : 0.0;
  }
};

// Collective. Merges the ranks' local word counts and selects the vocabulary. If fewer than V
// words reach min_count, the vocabulary is clamped to those (clamped() says so; the caller
// warns). With `listed` (--read-vocab, the same on every rank), the vocabulary is exactly the
// listed words that occur in the corpus, ordered by their counts here (V and min_count are then
// not used; requested_size is the list's length). Throws qwem::Error on every rank if the corpus
// has no tokens or no word qualifies.
Vocabulary ReduceVocabulary(MPI_Comm comm, const WordTable& local_words, const VocabOptions& options,
                            const std::vector<std::string>* listed = nullptr);

// This rank's in-vocabulary token ids, kBoundary between documents (never two in a row): `range`
// from its byte range, whose first and last documents may continue in the neighbouring ranks'
// shards, and `whole` from its whole (gzip) files, whose documents do not.
struct TokenIds {
  big_vector<word_id_t> range;
  big_vector<word_id_t> whole;
  // Both streams as one (a boundary between them): what word2vec's windows train on.
  std::vector<word_id_t> Joined() const;
};

// Not collective. The shard's two streams rewritten from local ids into vocabulary ids (the
// shard is consumed): OOV tokens are removed (SCIENCE.md section 1) and boundaries kept.
TokenIds MapToVocabulary(const Vocabulary& vocab, LocalShard&& shard);

}  // namespace qwem
