#include "qwem/progress.hpp"

#include <cstdio>

namespace qwem {

Progress::Progress(MPI_Comm comm) : comm_(comm), rank_(CommRank(comm)) {
  QWEM_MPI(MPI_Barrier(comm_));
  t_start_ = MPI_Wtime();
}

double Progress::Elapsed() const { return MPI_Wtime() - t_start_; }

void Progress::Say(const std::string& text) const {
  if (rank_ != 0) return;
  std::printf("[%8.2f s] %s\n", Elapsed(), text.c_str());
  std::fflush(stdout);
}

void Progress::Warn(const std::string& text) const {
  if (rank_ != 0) return;
  std::fflush(stdout);
  std::fprintf(stderr, "qwem-dist: warning: %s\n", text.c_str());
  std::fflush(stderr);
}

void Progress::Begin(const std::string& phase) {
  QWEM_MPI(MPI_Barrier(comm_));
  phase_ = phase;
  t_phase_ = MPI_Wtime();
}

double Progress::End(const std::string& detail) {
  // The barrier makes the phase time the slowest rank's time.
  QWEM_MPI(MPI_Barrier(comm_));
  const double seconds = MPI_Wtime() - t_phase_;
  global_int_t rss = PeakRssBytes(), rss_max = 0;
  QWEM_MPI(MPI_Allreduce(&rss, &rss_max, 1, MPI_INT64_T, MPI_MAX, comm_));
  phases_.push_back({phase_, seconds, rss_max});
  char tail[96];
  std::snprintf(tail, sizeof tail, " (%.2f s, peak RSS %s/rank max)", seconds,
                FormatBytes(static_cast<double>(rss_max)).c_str());
  Say(phase_ + ": " + detail + tail);
  return seconds;
}

std::string FormatCount(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string FormatBytes(double bytes) {
  char buf[32];
  if (bytes >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  return buf;
}

}  // namespace qwem
