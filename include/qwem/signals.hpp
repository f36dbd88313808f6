// The signals that stop a training run cleanly: SIGTERM and SIGINT (what a scheduler or a user
// sends) and SIGUSR1 (what SLURM sends before the time limit, and what Open MPI's mpirun
// forwards without killing the ranks). A handler only records the signal; the run acts on it at
// its next safe point, on every rank together (AgreedStopSignal).
#pragma once

#include <mpi.h>

namespace qwem {

// Not collective. Installs the handlers (idempotent).
void InstallStopHandlers();
// Not collective. The last stop signal this rank caught (0: none).
int StopSignal();
// Collective. The largest stop signal any rank caught (0: none): the same answer on every rank.
int AgreedStopSignal(MPI_Comm comm);

}  // namespace qwem
