#include "qwem/word2vec.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>
#include <vector>

namespace qwem {

void ExportWord2Vec(MPI_Comm comm, const std::string& path, const Vocabulary& vocab, const LocalRows& embeddings) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const int d = embeddings.dim;
  const auto n_local = static_cast<std::size_t>(embeddings.row_end - embeddings.row_begin) * d;
  const bool binary = path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0;
  const std::string partial = path + ".partial";
  std::FILE* f = nullptr;
  bool ok = true;
  if (rank == 0) {
    f = std::fopen(partial.c_str(), "wb");
    ok = f != nullptr;
  }
  AgreeOrThrow(comm, ok, "cannot create '" + partial + "'");
  // Rank r's rows [ranges[r], ranges[r+1]) in rank order.
  std::vector<global_int_t> begins(size);
  const global_int_t mine = embeddings.row_begin;
  QWEM_MPI(MPI_Allgather(&mine, 1, MPI_INT64_T, begins.data(), 1, MPI_INT64_T, comm));
  if (rank == 0) {
    std::fprintf(f, "%lld %d\n", static_cast<long long>(vocab.size()), d);
    std::vector<double> rows;
    std::vector<float> buf(d);
    for (int r = 0; r < size; ++r) {
      const global_int_t b = begins[r], e = r + 1 < size ? begins[r + 1] : vocab.size();
      if (r == 0) {
        rows.assign(embeddings.data, embeddings.data + n_local);
      } else {
        rows.resize(static_cast<std::size_t>(e - b) * d);
        QWEM_MPI(MPI_Recv(rows.data(), static_cast<int>(rows.size()), MPI_DOUBLE, r, 31, comm, MPI_STATUS_IGNORE));
      }
      for (global_int_t i = b; i < e; ++i) {
        const double* x = rows.data() + static_cast<std::size_t>(i - b) * d;
        std::fputs(vocab.words[i].c_str(), f);
        std::fputc(' ', f);
        if (binary) {
          for (int k = 0; k < d; ++k) buf[k] = static_cast<float>(x[k]);
          std::fwrite(buf.data(), sizeof(float), d, f);
          std::fputc('\n', f);
        } else {
          for (int k = 0; k < d; ++k) std::fprintf(f, k + 1 < d ? "%.8g " : "%.8g\n", x[k]);
        }
      }
    }
    ok = std::fclose(f) == 0 && std::rename(partial.c_str(), path.c_str()) == 0;
  } else {
    QWEM_MPI(MPI_Send(embeddings.data, static_cast<int>(n_local), MPI_DOUBLE, 0, 31, comm));
  }
  AgreeOrThrow(comm, ok, "cannot write '" + path + "'");
}

void SaveVocabulary(MPI_Comm comm, const std::string& path, const Vocabulary& vocab) {
  const std::string partial = path + ".partial";
  RunAgreed(comm, [&] {
    if (CommRank(comm) != 0) return;
    std::FILE* f = std::fopen(partial.c_str(), "w");
    if (!f) throw Error("cannot create '" + partial + "': " + std::strerror(errno));
    bool ok = true;
    for (global_int_t i = 0; i < vocab.size() && ok; ++i)
      ok = std::fprintf(f, "%s %lld\n", vocab.words[i].c_str(), static_cast<long long>(vocab.counts[i])) > 0;
    const int saved_errno = errno;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(partial.c_str(), path.c_str()) != 0) {
      const std::string why = std::strerror(ok ? errno : saved_errno);
      std::remove(partial.c_str());
      throw Error("cannot write the vocabulary to '" + path + "': " + why);
    }
  });
}

std::vector<std::string> ReadVocabularyFile(MPI_Comm comm, const std::string& path) {
  std::string blob;  // the words, each followed by '\n'
  RunAgreed(comm, [&] {
    if (CommRank(comm) != 0) return;
    std::ifstream in(path);
    if (!in) throw Error("--read-vocab '" + path + "': " + std::strerror(errno));
    if (!std::filesystem::is_regular_file(path)) throw Error("--read-vocab '" + path + "' is not a regular file");
    std::unordered_set<std::string> seen;
    std::string line;
    for (long long number = 1; std::getline(in, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::istringstream fields(line);
      std::string word, count, extra;
      if (!(fields >> word)) continue;  // blank line
      const auto where = [&] { return "--read-vocab '" + path + "' line " + std::to_string(number) + ": "; };
      if (!(fields >> count) || (fields >> extra) || count.find_first_not_of("0123456789") != std::string::npos)
        throw Error(where() + "expected 'word count' (word2vec's -save-vocab format)");
      if (word == "</s>") continue;
      if (!seen.insert(word).second) throw Error(where() + "'" + word + "' is listed twice");
      blob += word + '\n';
    }
    if (in.bad()) throw Error("--read-vocab '" + path + "': read error");
    if (seen.empty()) throw Error("--read-vocab '" + path + "' lists no words");
  });
  BroadcastString(comm, blob);
  std::vector<std::string> words;
  for (std::size_t at = 0, end; at < blob.size(); at = end + 1) {
    end = blob.find('\n', at);
    words.push_back(blob.substr(at, end - at));
  }
  return words;
}

}  // namespace qwem
