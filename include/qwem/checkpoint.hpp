// The /train group: a training run's settings, its recorded series, log-spaced snapshots of W,
// and the state a resume continues from (README "Output"). The same writer makes the result's
// /train and the checkpoint a signal leaves; the reader checks that a resume file belongs to
// this run before anything is restored.
//   /train (attributes)             every setting of the trajectory (numbers as numbers),
//                                   vocab_fingerprint, completed_steps, status, reweight_c,
//                                   tau_definition, theory agreement, wall time, update rate
//   /train/{step,tau,lr,loss,seconds}, singular_values, theory_singular_values, eigenvalues, a0,
//   overlap, eval_step, analogy_accuracy, analogy_pair_accuracy
//   /train/checkpoints/step, /train/checkpoints/W_<step>
//   /train/state/W (and C with word2vec's separate output vectors): what --resume continues from
#pragma once

#include <mpi.h>

#include <string>

#include "qwem/h5io.hpp"
#include "qwem/train.hpp"
#include "qwem/trainer.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

// A 64-bit fingerprint (hex) of the vocabulary's words and counts: resume files must match it.
std::string VocabularyFingerprint(const Vocabulary& vocab);

// Collective. /train from the record and the final state.
void WriteTraining(h5::OutputFile& out, MPI_Comm comm, const TrainingSetup& setup, const Vocabulary& vocab,
                   const TrainRecord& record, const TrainedState& state);

// Collective. Reads a resume file written by WriteTraining: checks that it was made with the
// same vocabulary and training settings (throws qwem::Error naming the first difference, or
// the problem with a corrupt file, on every rank), returns the series so far, and this rank's
// rows [row_begin, row_end) of W at the last step in state->W (its step in
// record.completed_steps) and, with output_vectors, those of /train/state/C in state->C.
TrainRecord ReadTraining(MPI_Comm comm, const std::string& path, const TrainingSetup& setup, const Vocabulary& vocab,
                         global_int_t row_begin, global_int_t row_end, bool output_vectors, TrainedState* state);

}  // namespace qwem
