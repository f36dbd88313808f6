#include "qwem/provenance.hpp"

#include "qwem/blas.hpp"

#include <petscsys.h>
#include <slepcsys.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <set>

namespace qwem {

std::string MpiVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string s(text, len);
  return s.substr(0, s.find_first_of(",\n"));
}

std::string PetscVersion() {
  char text[256];
  PetscGetVersion(text, sizeof text);
  return text;
}

std::string SlepcVersion() {
  char text[256];
  SlepcGetVersion(text, sizeof text);
  return text;
}

Placement GatherPlacement(MPI_Comm comm) {
  Placement p;
  p.ranks = CommSize(comm);
  char name[MPI_MAX_PROCESSOR_NAME + 1] = {0};
  int len = 0;
  QWEM_MPI(MPI_Get_processor_name(name, &len));
  std::vector<char> all(static_cast<std::size_t>(p.ranks) * (MPI_MAX_PROCESSOR_NAME + 1));
  QWEM_MPI(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR,
                         comm));
  std::set<std::string> seen;
  for (int r = 0; r < p.ranks; ++r) {
    std::string host(&all[static_cast<std::size_t>(r) * (MPI_MAX_PROCESSOR_NAME + 1)]);
    if (seen.insert(host).second) p.nodes.push_back(host);
  }
  if (CommRank(comm) == 0) {
    if (const char* job = std::getenv("SLURM_JOB_ID")) p.slurm_job_id = job;
  }
  BroadcastString(comm, p.slurm_job_id);
  return p;
}

std::string Placement::Describe() const {
  const std::size_t n = nodes.size();
  std::string s = std::to_string(ranks) + (ranks == 1 ? " rank on " : " ranks on ") + std::to_string(n) +
                  (n == 1 ? " node (" : " nodes (");
  for (std::size_t i = 0; i < n; ++i) {
    if (n > 4 && i == 3) {
      s += ", ... " + nodes.back();
      break;
    }
    s += (i ? ", " : "") + nodes[i];
  }
  s += ")";
  if (!slurm_job_id.empty()) s += ", SLURM job " + slurm_job_id;
  return s;
}

void WriteMeta(h5::OutputFile& out, MPI_Comm comm, const std::string& command_line, const Placement& placement,
               const VocabOptions& vocab_options, global_int_t vocab_size, const CountOptions& count) {
  // Rank 0's clock and host name, broadcast, so every rank writes the same attribute values.
  std::string stamp, host;
  if (CommRank(comm) == 0) {
    char buf[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    stamp = buf;
    char name[256] = {0};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  BroadcastString(comm, stamp);
  BroadcastString(comm, host);
  out.Attribute("/meta", "version", std::string(QWEM_VERSION));
  out.Attribute("/meta", "command_line", command_line);
  out.Attribute("/meta", "ranks", static_cast<global_int_t>(CommSize(comm)));
  out.Attribute("/meta", "nodes", static_cast<global_int_t>(placement.nodes.size()));
  std::string names;
  for (const auto& node : placement.nodes) names += (names.empty() ? "" : " ") + node;
  out.Attribute("/meta", "node_names", names);
  out.Attribute("/meta", "slurm_job_id", placement.slurm_job_id);
  out.Attribute("/meta", "vocab_size", vocab_size);
  out.Attribute("/meta", "vocab_size_requested", vocab_options.size);
  out.Attribute("/meta", "min_count", vocab_options.min_count);
  out.Attribute("/meta", "window", static_cast<global_int_t>(count.window));
  if (!count.from.empty()) out.Attribute("/meta", "counts_from", count.from);
  if (!vocab_options.read.empty()) out.Attribute("/meta", "read_vocab", vocab_options.read);
  out.Attribute("/meta", "window_weighting",
                std::string("C[w_t, w_t+j] += L+1-j and C[w_t+j, w_t] += L+1-j for j = 1..L within a document, "
                            "OOV tokens removed before windowing; N += 2 per pair"));
  out.Attribute("/meta", "timestamp", stamp);
  out.Attribute("/meta", "host_rank0", host);
  out.Attribute("/meta", "mpi_version", MpiVersion());
  out.Attribute("/meta", "petsc_version", PetscVersion());
  out.Attribute("/meta", "slepc_version", SlepcVersion());
  out.Attribute("/meta", "hdf5_version", h5::LibraryVersion());
  out.Attribute("/meta", "blas", BlasDescription());
}

}  // namespace qwem
