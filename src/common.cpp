#include "qwem/common.hpp"

#include <algorithm>

#include "qwem/format.hpp"

namespace qwem {

void PetscThrow(PetscErrorCode rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("PETSc call failed: ") + what);
}

void CheckMpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("MPI call failed: ") + what + ": " + std::string(text, len));
}

int CommRank(MPI_Comm comm) {
  int r = 0;
  QWEM_MPI(MPI_Comm_rank(comm, &r));
  return r;
}

int CommSize(MPI_Comm comm) {
  int p = 0;
  QWEM_MPI(MPI_Comm_size(comm, &p));
  return p;
}

void AgreeOrThrow(MPI_Comm comm, bool local_ok, const std::string& local_message) {
  // The lowest failing rank speaks; MPI_MIN over (failed ? rank : size) finds it.
  const int size = CommSize(comm);
  int candidate = local_ok ? size : CommRank(comm);
  int speaker = size;
  QWEM_MPI(MPI_Allreduce(&candidate, &speaker, 1, MPI_INT, MPI_MIN, comm));
  if (speaker == size) return;
  std::string message = local_message;
  BroadcastString(comm, message, speaker);
  throw Error(message);
}

void BroadcastString(MPI_Comm comm, std::string& s, int root) {
  long long n = static_cast<long long>(s.size());
  QWEM_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm));
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) QWEM_MPI(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, comm));
}

global_int_t AllreduceSum(MPI_Comm comm, global_int_t local) {
  global_int_t global = 0;
  QWEM_MPI(MPI_Allreduce(&local, &global, 1, MPI_INT64_T, MPI_SUM, comm));
  return global;
}

double AllreduceMax(MPI_Comm comm, double local) {
  double global = 0;
  QWEM_MPI(MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, comm));
  return global;
}

ProgressMeter::ProgressMeter(const ProgressLines& lines, std::string phase, double total, std::string unit)
    : lines_(lines), phase_(std::move(phase)), unit_(std::move(unit)), total_(total) {
  t_start_ = t_last_ = MPI_Wtime();
}

void ProgressMeter::Update(double done, const std::function<std::string(double)>& extra) {
  const double now = MPI_Wtime();
  if (!lines_.say || lines_.seconds <= 0 || now - t_last_ < lines_.seconds || total_ <= 0) return;
  t_last_ = now;
  const double elapsed = now - t_start_, rate = done / std::max(elapsed, 1e-9);
  const bool bytes = unit_ == "bytes";
  std::string line = Format("%s: %.0f%% of rank 0's ", phase_.c_str(), 100 * done / total_) +
                     (bytes ? FormatBytes(total_) : FormatCount(total_) + " " + unit_) + ", " +
                     (bytes ? FormatBytes(rate) : FormatCount(rate) + " " + unit_) + "/s";
  if (extra) line += ", " + extra(elapsed);
  if (rate > 0 && done < total_) line += FormatTimeLeft((total_ - done) / rate);
  lines_.say(line);
}

}  // namespace qwem
