// Where and how a result was made: the ranks' placement, the library versions, and the /meta
// group every output file carries (README "Output").
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "qwem/h5io.hpp"
#include "qwem/options.hpp"

namespace qwem {

// Where the job runs: the distinct host names of the ranks (in rank order of first
// appearance) and the SLURM job id when there is one (SLURM_JOB_ID, else "").
struct Placement {
  int ranks = 0;
  std::vector<std::string> nodes;
  std::string slurm_job_id;
  // "2 ranks on 1 node (vm)", "256 ranks on 8 nodes (n01, n02, n03, ... n08), SLURM job 42"
  std::string Describe() const;
};
// Collective; every rank gets the same result.
Placement GatherPlacement(MPI_Comm comm);

// "Open MPI v4.1.4" (the first line of MPI_Get_library_version); PETSc's and SLEPc's versions.
std::string MpiVersion();
std::string PetscVersion();
std::string SlepcVersion();

// Collective, the same arguments on every rank. /meta: version, command line, placement, rank
// 0's clock and host, library versions, and the vocabulary and window settings of the counts.
void WriteMeta(h5::OutputFile& out, MPI_Comm comm, const std::string& command_line, const Placement& placement,
               const VocabOptions& vocab_options, global_int_t vocab_size, const CountOptions& count);

}  // namespace qwem
