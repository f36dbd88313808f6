// The write phase's ceiling on this file system (share/bench/write_file.sh): the seconds to write
// two V x d matrices of doubles (as /embeddings and /spectrum/eigenvectors of a closed-form run),
// split by rows over the ranks, through qwem-dist's own writer (h5io.hpp: one file, collective
// MPI-IO, written as FILE.partial and renamed at the end), either into one file shared by all
// ranks (what qwem-dist writes) or into one file per rank (the same writer on MPI_COMM_SELF: no
// file shared between ranks). The time runs from the barrier before the create to the barrier
// after the last rank's rename; the files are removed afterwards.
// Usage: mpirun -n P qwem_write_file_bench V d shared|per-rank FOLDER   (rank 0 prints: seconds)
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "qwem/h5io.hpp"

namespace {

void WriteMatrices(MPI_Comm comm, const std::string& path, const std::vector<double>& rows, qwem::global_int_t first,
                   qwem::global_int_t n_local, qwem::global_int_t n_rows, int d) {
  qwem::h5::OutputFile out(comm, path);
  for (const char* name : {"/embeddings", "/spectrum/eigenvectors"})
    out.WriteDistributed(name, rows.data(), n_local, first, n_rows, d);
  out.Commit();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string mode = argc == 5 ? argv[3] : "";
  if (argc != 5 || (mode != "shared" && mode != "per-rank") || std::atoll(argv[1]) < 1 || std::atoi(argv[2]) < 1) {
    if (rank == 0) std::fprintf(stderr, "usage: %s V d shared|per-rank FOLDER\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const qwem::global_int_t V = std::atoll(argv[1]);
  const int d = std::atoi(argv[2]);
  const std::string folder = argv[4];
  const qwem::global_int_t first = V * rank / size, last = V * (rank + 1) / size;
  std::vector<double> rows(static_cast<std::size_t>(last - first) * d);
  for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = 1e-3 * static_cast<double>((k * 2654435761u) % 1000003);
  const bool shared = mode == "shared";
  const std::string path = folder + (shared ? "/shared.h5" : "/rank" + std::to_string(rank) + ".h5");
  int status = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  try {
    if (shared)
      WriteMatrices(MPI_COMM_WORLD, path, rows, first, last - first, V, d);
    else
      WriteMatrices(MPI_COMM_SELF, path, rows, 0, last - first, last - first, d);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    status = 1;
  }
  MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  const double seconds = MPI_Wtime() - t0;
  if (rank == 0 && status == 0) std::printf("%.4f\n", seconds);
  if (!shared || rank == 0) std::remove(path.c_str());
  MPI_Finalize();
  return status;
}
