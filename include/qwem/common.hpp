// The vocabulary every module shares: index types, the two kinds of user-facing error, and the
// agreed-status helpers that turn a failure on some ranks into the same clean error on every
// rank, plus the few small collectives the stages use.
#pragma once

#include <mpi.h>
#include <petscsystypes.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qwem {

// Global quantities (token counts, byte offsets, pair totals, nonzeros) are always 64-bit.
// PETSc's PetscInt is 32-bit in Debian's build, so conversions to it are checked where made.
using global_int_t = std::int64_t;
// A vocabulary id. Vocabularies beyond 2^31 words are not a use case.
using word_id_t = std::int32_t;

// Marks a document boundary in a token stream of word ids.
inline constexpr word_id_t kBoundary = -1;

// An error whose message is meant for the user (bad input, a failed write). Thrown on every
// rank with the same message after an agreed-status check, so main() prints it once and exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A command line qwem-dist cannot run (unknown or misspelled option, bad value, a rule between
// options broken): main() prints it once and exits 2, before any collective work.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Throws std::runtime_error with the MPI error string if rc is not MPI_SUCCESS.
void CheckMpi(int rc, const char* what);
#define QWEM_MPI(call) ::qwem::CheckMpi((call), #call)

// Throws std::runtime_error naming `what` if a PETSc/SLEPc call returned an error code: the
// one boundary between PETSc-style functions and the exceptions of the rest.
void PetscThrow(PetscErrorCode rc, const char* what);

// Collective. Every rank passes whether its local work succeeded and, if not, why. If any rank
// failed, every rank throws qwem::Error carrying the message of the lowest failing rank. This is
// the only way local failures cross into collective code: no rank is left waiting in a collective.
void AgreeOrThrow(MPI_Comm comm, bool local_ok, const std::string& local_message);

// Collective. Runs fn() locally; an exception becomes a failed status for AgreeOrThrow.
template <class Fn>
void RunAgreed(MPI_Comm comm, Fn&& fn) {
  bool ok = true;
  std::string message;
  try {
    fn();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  AgreeOrThrow(comm, ok, message);
}

int CommRank(MPI_Comm comm);
int CommSize(MPI_Comm comm);

// Collective. Broadcasts a byte string from root.
void BroadcastString(MPI_Comm comm, std::string& s, int root = 0);

// Collective. Sum of int64 values, max of doubles over the ranks.
global_int_t AllreduceSum(MPI_Comm comm, global_int_t local);
double AllreduceMax(MPI_Comm comm, double local);

// Collective. Every rank's n items (trivially copyable), concatenated in rank order on every
// rank: one MPI_Allgather of the byte counts, one MPI_Allgatherv of the bytes. first (if not
// null): where this rank's items begin in all.
template <class T>
void AllgatherConcat(MPI_Comm comm, const T* local, std::size_t n, std::vector<T>* all,
                     std::size_t* first = nullptr) {
  const int size = CommSize(comm);
  int bytes = static_cast<int>(n * sizeof(T));
  std::vector<int> sizes(size), displs(size, 0);
  QWEM_MPI(MPI_Allgather(&bytes, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm));
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + sizes[r - 1];
  all->resize((displs.back() + sizes.back()) / sizeof(T));
  if (first != nullptr) *first = static_cast<std::size_t>(displs[CommRank(comm)]) / sizeof(T);
  QWEM_MPI(MPI_Allgatherv(local, bytes, MPI_BYTE, all->data(), sizes.data(), displs.data(), MPI_BYTE, comm));
}
template <class T>
std::vector<T> AllgatherConcat(MPI_Comm comm, const T* local, std::size_t n) {
  std::vector<T> all;
  AllgatherConcat(comm, local, n, &all);
  return all;
}

// Rows [row_begin, row_end) of an n_words x dim matrix, row-major, held by this rank (a view):
// embeddings, eigenvectors and trained W are all laid out like the rows of the counts.
struct LocalRows {
  const double* data = nullptr;
  global_int_t row_begin = 0, row_end = 0, n_words = 0;
  int dim = 0;
};

// Periodic progress lines from inside a long phase (eigensolve, training): say(line) at most
// every `seconds` (0: never). Not collective: rank 0 prints, the others ignore it.
struct ProgressLines {
  std::function<void(const std::string&)> say;
  double seconds = 0;
};

// Not collective. Lines with the fraction done, the rate and the time left of one rank's share of
// a phase (rank 0's, which is about every rank's: the shares are balanced), at most every
// lines.seconds: "read: 45% of rank 0's 1.20 GiB, 210 MiB/s, 8.1M tokens/s, about 5 s left".
class ProgressMeter {
 public:
  // `unit`: "bytes" (shown as MiB/s) or a noun such as "positions".
  ProgressMeter(const ProgressLines& lines, std::string phase, double total, std::string unit);
  // `done` units so far; `extra` is appended to the line ("8.1M tokens/s").
  void Update(double done, const std::function<std::string(double seconds)>& extra = nullptr);

 private:
  ProgressLines lines_;
  std::string phase_, unit_;
  double total_, t_start_, t_last_;
};

}  // namespace qwem
