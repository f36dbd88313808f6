#include "qwem/word2vec.hpp"

#include <cstdio>
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

}  // namespace qwem
