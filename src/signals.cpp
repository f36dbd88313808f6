#include "qwem/signals.hpp"

#include <csignal>

#include "qwem/common.hpp"

namespace qwem {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int sig) { g_stop_signal = sig; }

}  // namespace

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

int StopSignal() { return g_stop_signal; }

int AgreedStopSignal(MPI_Comm comm) {
  int stop = StopSignal();
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, comm));
  return stop;
}

}  // namespace qwem
