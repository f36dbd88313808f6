// The training strategies behind trainer.hpp's interface (private to src/): CreateTrainer picks
// one by the setup.
#pragma once

#include <memory>

#include "qwem/trainer.hpp"

namespace qwem {

// Collective. Each as documented in trainer.hpp.
std::unique_ptr<Trainer> CreateGdTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs);
std::unique_ptr<Trainer> CreatePairTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs);
std::unique_ptr<Trainer> CreateWindowTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs);

}  // namespace qwem
