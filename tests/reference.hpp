// Serial reference implementation of SCIENCE.md section 1, the oracle of the distributed code.
// Written independently of src/: whole files in memory, std::map, plain loops, both directions
// counted explicitly. Slow on purpose; only for tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace qwem::ref {

struct Counts {
  std::vector<std::string> words;  // vocabulary in id order
  std::vector<std::int64_t> word_counts;
  std::int64_t n_total_tokens = 0;
  std::int64_t n_distinct_words = 0;
  std::map<std::pair<int, int>, std::int64_t> C;  // nonzeros of C
  std::int64_t n_pairs = 0;                       // N
};

// The documents of a corpus path (file or directory, recursive, sorted, hidden names skipped),
// each a list of lowercased tokens. Tokens longer than max_token_bytes are dropped.
std::vector<std::vector<std::string>> ReadDocuments(const std::string& path, std::size_t max_token_bytes = 1000);

Counts Count(const std::vector<std::vector<std::string>>& docs, std::int64_t vocab_size, std::int64_t min_count,
             int window);

}  // namespace qwem::ref
