// What a run tells its user: plain lines for terminals and SLURM log files alike. Rank 0 prints
// one line per finished phase with its wall time and the largest peak RSS over all ranks, the
// rates and warnings of each stage, periodic progress inside long phases, the evaluation, and a
// last line that names the output file and the result. Every line's wording lives here.
#pragma once

#include <mpi.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/corpus.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/memory.hpp"
#include "qwem/options.hpp"
#include "qwem/target.hpp"
#include "qwem/train.hpp"
#include "qwem/vocab.hpp"

namespace qwem {

struct Placement;

struct PhaseRecord {
  std::string name;
  double seconds = 0;             // wall time of the phase (slowest rank)
  global_int_t peak_rss_max = 0;  // largest peak RSS over ranks at the end of the phase, bytes
  // CPU seconds of the phase summed over ranks, each rank's up to its own end of the phase: user
  // and system (memory.hpp's ProcessCpuSeconds).
  double cpu_user_sum = 0, cpu_system_sum = 0;
};

class Report {
 public:
  // Collective (synchronizes the start time). progress_seconds: periodic lines in long phases.
  Report(MPI_Comm comm, double progress_seconds);

  // Not collective: rank 0 prints "[elapsed] text"; other ranks do nothing.
  void Say(const std::string& text) const;
  // Not collective: rank 0 prints "qwem-dist: warning: text" on stderr.
  void Warn(const std::string& text) const;
  // Periodic lines for a long phase (eigensolve, training), at most every progress_seconds.
  ProgressLines Lines() const;

  // Collective. Marks the start of a phase (barrier, so phase times are wall times of the job)
  // and pushes its PETSc log stage, so that -log_view reports every phase on its own.
  void Begin(const std::string& phase);
  // Collective. Ends the current phase and prints "phase: detail (N s, peak RSS M MiB/rank max)".
  // Returns the phase's wall time in seconds.
  double End(const std::string& detail);

  // The first lines: version, placement, command line, library versions; then the warnings of
  // the evaluation files.
  void Start(const Placement& placement, const std::string& command_line, const EvalData& eval) const;
  // Collective. Each ends its phase with the stage's line(s) and warnings.
  void EndDiscover(const CorpusPlan& plan);
  void EndRead(const ReadStats& stats, const CorpusOptions& options);
  void EndVocabulary(const Vocabulary& vocab, const VocabOptions& options);
  void EndCount(const CountStats& stats, const Vocabulary& vocab, int window);
  void EndReduce(const CooccurrenceRows& counts, const Vocabulary& vocab);
  void EndLoadCounts(const CooccurrenceRows& counts, const Vocabulary& vocab, const std::string& path);
  void EndTarget(const Target& target, const TargetOptions& options, const std::vector<double>& full_spectrum);
  // Loaded eigenpairs (loaded_from not empty) fewer than `wanted` (a training run's --theory-modes) are warned of.
  void EndEigensolve(const EigenResult& eig, const std::string& loaded_from, int wanted = 0);
  // The steps and the rate's drop that --steps auto and --lr-drop auto chose (nothing if neither).
  void AutoHorizon(const TrainingSetup& setup) const;
  void EndTrain(const TrainRecord& record, global_int_t steps);
  // Ends the evaluate phase, then prints the evaluation: both analogy protocols overall and per
  // section, similarity, and the concept words.
  void EndEvaluate(const Evaluation& ev, const Vocabulary& vocab, const EigenResult* eig);  // eig: concepts

  // The last line of the log: where the result is and what it says.
  void Summary(const std::string& path, const Vocabulary& vocab, int window, const CooccurrenceRows& counts,
               const EigenResult* eig, Mode mode, const TrainOptions& train, const TrainRecord* record,
               const Evaluation* ev) const;

  double Elapsed() const;
  const std::vector<PhaseRecord>& phases() const { return phases_; }

 private:
  MPI_Comm comm_;
  int rank_;
  double progress_seconds_;
  double t_start_;
  double t_phase_ = 0;
  CpuSeconds cpu_phase_;  // at the phase's start
  std::string phase_;
  std::vector<PhaseRecord> phases_;
  double count_seconds_ = 0;           // for the combined count + reduce rate
  std::map<std::string, int> stages_;  // PETSc log stage of each phase (-log_view shows them apart)
  bool stage_open_ = false;
};

}  // namespace qwem
