#include "reference.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace qwem::ref {
namespace fs = std::filesystem;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b) {
    gzFile gz = gzopen(path.c_str(), "rb");
    std::string out;
    char buf[65536];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, n);
    gzclose(gz);
    return out;
  }
  return data;
}

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (Space(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> ReadDocuments(const std::string& path, std::size_t max_token_bytes) {
  std::vector<std::string> files;
  if (fs::is_regular_file(path)) {
    files.push_back(path);
  } else {
    for (auto it = fs::recursive_directory_iterator(path); it != fs::recursive_directory_iterator(); ++it) {
      if (it->path().filename().string()[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
  }
  std::vector<std::vector<std::string>> docs;
  for (const auto& f : files) {
    const std::string text = Slurp(f);
    // WikiExtractor output: the first non-blank bytes are "<doc " or "<doc>" (README, Input).
    const std::size_t first = text.find_first_not_of(" \t\n\v\f\r");
    // in the file's first 512 bytes (as the program sniffs them).
    const bool wiki = first != std::string::npos && first + 4 < std::min<std::size_t>(text.size(), 512) &&
                      text.compare(first, 4, "<doc") == 0 && (text[first + 4] == ' ' || text[first + 4] == '>');
    docs.emplace_back();
    auto keep = [&](const std::string& t) {
      if (t.size() <= max_token_bytes) docs.back().push_back(t);
    };
    if (!wiki) {
      for (const auto& t : Split(text)) keep(t);
      continue;
    }
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      const std::vector<std::string> toks = Split(line);
      if (!toks.empty() &&
          (toks[0] == "</doc>" || (toks[0].rfind("<doc", 0) == 0 && (toks[0].size() == 4 || toks[0][4] == '>')))) {
        docs.emplace_back();  // a tag line ends one document and starts the next
        continue;
      }
      for (const auto& t : toks) keep(t);
    }
  }
  return docs;
}

Counts Count(const std::vector<std::vector<std::string>>& docs, std::int64_t vocab_size, std::int64_t min_count,
             int window) {
  Counts r;
  std::map<std::string, std::int64_t> freq;
  for (const auto& d : docs)
    for (const auto& t : d) {
      ++freq[t];
      ++r.n_total_tokens;
    }
  r.n_distinct_words = static_cast<std::int64_t>(freq.size());
  std::vector<std::pair<std::string, std::int64_t>> sorted(freq.begin(), freq.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::unordered_map<std::string, int> id;
  for (const auto& [w, c] : sorted) {
    if (static_cast<std::int64_t>(r.words.size()) == vocab_size || c < min_count) break;
    id[w] = static_cast<int>(r.words.size());
    r.words.push_back(w);
    r.word_counts.push_back(c);
  }
  std::unordered_map<std::uint64_t, std::int64_t> acc;
  const std::uint64_t V = r.words.size();
  for (const auto& d : docs) {
    std::vector<int> ids;
    for (const auto& t : d) {
      auto it = id.find(t);
      if (it != id.end()) ids.push_back(it->second);
    }
    for (std::size_t t = 0; t < ids.size(); ++t)
      for (int j = 1; j <= window && t + j < ids.size(); ++j) {
        acc[ids[t] * V + ids[t + j]] += window + 1 - j;
        acc[ids[t + j] * V + ids[t]] += window + 1 - j;
        r.n_pairs += 2;
      }
  }
  for (const auto& [k, c] : acc) r.C[{static_cast<int>(k / V), static_cast<int>(k % V)}] = c;
  return r;
}

}  // namespace qwem::ref
