// Plain-line progress reports for terminals and SLURM log files alike: rank 0 prints one line
// per finished phase with elapsed time, rates and the largest peak RSS over all ranks.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

struct PhaseRecord {
  std::string name;
  double seconds = 0;             // wall time of the phase (slowest rank)
  global_int_t peak_rss_max = 0;  // largest peak RSS over ranks at the end of the phase, bytes
};

class Progress {
 public:
  // Collective (synchronizes the start time).
  explicit Progress(MPI_Comm comm);

  // Not collective: rank 0 prints "[elapsed] text"; other ranks do nothing.
  void Say(const std::string& text) const;
  // Not collective: every rank that calls it may warn; rank 0 only prints, with "warning:".
  void Warn(const std::string& text) const;

  // Collective. Marks the start of a phase (barrier, so phase times are wall times of the job).
  void Begin(const std::string& phase);
  // Collective. Ends the current phase and prints "phase: detail (N s, peak RSS M MiB/rank)".
  // Returns the phase's wall time in seconds.
  double End(const std::string& detail);

  double Elapsed() const;
  const std::vector<PhaseRecord>& phases() const { return phases_; }

 private:
  MPI_Comm comm_;
  int rank_;
  double t_start_;
  double t_phase_ = 0;
  std::string phase_;
  std::vector<PhaseRecord> phases_;
};

// "12.3 MB/s"-style formatting helpers for progress lines.
std::string FormatCount(double n);    // 1.23M, 456.7k, 89
std::string FormatBytes(double bytes);  // 12.3 MiB

}  // namespace qwem
