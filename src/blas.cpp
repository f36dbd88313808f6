#include "qwem/blas.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace qwem {

std::vector<double> SymmetricEigen(std::vector<double>& a, int n, const char* what) {
  std::vector<double> w(n);
  if (n == 0) return w;
  int lwork = -1, info = 0;
  double query = 0;
  dsyev_("V", "U", &n, a.data(), &n, w.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(lwork, 1));
  dsyev_("V", "U", &n, a.data(), &n, w.data(), work.data(), &lwork, &info);
  if (info != 0) throw std::runtime_error(std::string("dsyev failed on ") + what);
  return w;
}

namespace {

// OpenBLAS's own description, if the BLAS is OpenBLAS (looked up, so that any BLAS links).
const char* OpenBlasString(const char* function) {
  auto f = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, function));
  return f ? f() : nullptr;
}

constexpr const char* kRestartedFrom = "QWEM_BLAS_CORE_DETECTED";

}  // namespace

void SelectBlasKernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  const char* core = OpenBlasString("openblas_get_corename");
  if (!core || strcasecmp(core, "Prescott") != 0) return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx512 && !avx2) return;
  setenv("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", 1);
  setenv(kRestartedFrom, core, 1);
  execv("/proc/self/exe", argv);
  // The restart failed: go on with the generic kernels, and say so (BlasDescription).
  unsetenv("OPENBLAS_CORETYPE");
  setenv(kRestartedFrom, "restart failed", 1);
}

std::string BlasDescription() {
  const char* config = OpenBlasString("openblas_get_config");
  if (!config) return "BLAS: not OpenBLAS";
  std::string text = config;
  if (const char* from = std::getenv(kRestartedFrom))
    text += std::strcmp(from, "restart failed") == 0
                ? std::string(" (OpenBLAS chose its generic kernels and the restart with faster ones failed)")
                : std::string(" (OPENBLAS_CORETYPE set by qwem-dist: OpenBLAS chose ") + from + " on this CPU)";
  return text;
}

}  // namespace qwem
