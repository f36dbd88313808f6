// The serial reference (reference.hpp) as a command, for the fuzz test: prints the vocabulary
// and the counts of a corpus, words in hex (they may hold any byte).
//   qwem_reference CORPUS VOCAB_SIZE MIN_COUNT WINDOW MAX_TOKEN_BYTES
// Output: "n_total_tokens n_distinct_words n_pairs V", then V lines "hexword count", then one
// line "i j count" per nonzero of C.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reference.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: qwem_reference CORPUS VOCAB_SIZE MIN_COUNT WINDOW MAX_TOKEN_BYTES\n");
    return 2;
  }
  const auto docs = qwem::ref::ReadDocuments(argv[1], std::strtoull(argv[5], nullptr, 10));
  const auto r = qwem::ref::Count(docs, std::atoll(argv[2]), std::atoll(argv[3]), std::atoi(argv[4]));
  std::printf("%lld %lld %lld %zu\n", static_cast<long long>(r.n_total_tokens),
              static_cast<long long>(r.n_distinct_words), static_cast<long long>(r.n_pairs), r.words.size());
  for (std::size_t i = 0; i < r.words.size(); ++i) {
    for (unsigned char c : r.words[i]) std::printf("%02x", c);
    std::printf(" %lld\n", static_cast<long long>(r.word_counts[i]));
  }
  for (const auto& [ij, c] : r.C) std::printf("%d %d %lld\n", ij.first, ij.second, static_cast<long long>(c));
  return 0;
}
