// qwem-dist: from raw text to word2vec's closed-form embeddings (SCIENCE.md sections 1-3, 6) and
// the learning dynamics that reach them (section 4), distributed over MPI ranks, with
// PETSc/SLEPc and parallel HDF5.
//
// Sample runs:
//   mpirun -n 4 qwem-dist --corpus share/corpus --out qwem.h5
//   mpirun -n 256 qwem-dist --corpus wiki/ --vocab-size 100000 --dim 300 -eps_view -log_view
//   mpirun -n 2 qwem-dist --corpus share/corpus --vocab-size 400 --dim 10 --mode sgd --out sgd.h5
//
// Each phase is reported by rank 0 with its wall time and peak memory (report.hpp); every rank
// runs every phase, and an error on any rank ends all of them with one message.
#include <slepcsys.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "qwem/blas.hpp"
#include "qwem/checkpoint.hpp"
#include "qwem/cli.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/corpus.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/memory.hpp"
#include "qwem/provenance.hpp"
#include "qwem/report.hpp"
#include "qwem/results.hpp"
#include "qwem/reuse.hpp"
#include "qwem/signals.hpp"
#include "qwem/target.hpp"
#include "qwem/train.hpp"
#include "qwem/vocab.hpp"
#include "qwem/word2vec.hpp"

static const char help[] = "qwem-dist: run with --help for the application's options.\n";

namespace {

using namespace qwem;

// Exit statuses: 0 done, 1 error (input, data, a failed write), 2 usage error, 3 stopped by a
// signal with a checkpoint written (batch scripts resume from it), 70 internal error.
constexpr int kExitError = 1, kExitUsage = 2, kExitInterrupted = 3, kExitInternal = 70;

// A signal stopped training and a checkpoint was written.
struct Interrupted : Error {
  using Error::Error;
};

// Collective. The checkpoint of an interrupted training (everything so far) under the first of
// --checkpoint, the folder of --out and $TMPDIR (or /tmp) that takes it: the training state is
// not lost to one full disk. Returns where it went; throws qwem::Error if nowhere.
std::string WriteCheckpoint(MPI_Comm comm, const Options& opt, const Placement& placement, const Vocabulary& vocab,
                            const TrainingSetup& setup, const TrainingResult& trained, const Report& report) {
  const std::filesystem::path name = std::filesystem::path(opt.output.checkpoint).filename();
  const char* tmp = std::getenv("TMPDIR");
  std::vector<std::string> places = {opt.output.checkpoint,
                                     (std::filesystem::path(opt.output.path).parent_path() / name).string(),
                                     (std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / name).string()};
  places.erase(std::unique(places.begin(), places.end()), places.end());
  std::string failures;
  for (const std::string& path : places) {
    try {
      h5::OutputFile ckpt(comm, path, EstimateOutputBytes(vocab, 0, 0, setup.dim, StoredMatrices(trained), setup.dim));
      WriteMeta(ckpt, comm, opt.command_line, placement, opt.vocab, vocab.size(), opt.count);
      WriteVocabulary(ckpt, vocab);
      WriteEmbeddings(ckpt, TrainedEmbeddings(trained, setup, vocab.size()));
      WriteTraining(ckpt, comm, setup, vocab, trained.record, trained.state);
      ckpt.Commit();
      return path;
    } catch (const Error& e) {
      report.Warn(std::string("could not write the checkpoint: ") + e.what());
      failures += std::string(failures.empty() ? "" : "; ") + e.what();
    }
  }
  throw Error("the training state could not be saved anywhere, it is lost (" + failures + ")");
}

// The counts and what they came from: counted from the corpus (phases 1-5), or loaded.
struct Counted {
  CorpusPlan plan;
  ReadStats read;
  Vocabulary vocab;
  CooccurrenceRows counts;
  CountStats count_stats;
  ReduceStats reduce_stats;
  std::vector<word_id_t> tokens;  // the token stream, kept only for word2vec's windows
};

// Collective. Phases 1-5: from the corpus to the reduced counts.
Counted CountCorpus(MPI_Comm comm, const Options& opt, const std::vector<std::string>* listed_words, Report& report) {
  Counted c;
  /* ---- 1. Discover: rank 0 walks the corpus and plans every rank's byte range ---- */
  report.Begin("discover");
  c.plan = DiscoverCorpus(comm, opt.corpus.path);
  RunAgreed(comm, [&] {
    if (CommRank(comm) == 0) opt.CheckFiles(CorpusFilePaths(c.plan));  // before hours of work, not after
  });
  report.EndDiscover(c.plan);

  /* ---- 2. Read: every rank tokenizes its own byte range (and its whole .gz files) ---- */
  report.Begin("read");
  LocalShard shard;
  c.read = ReadCorpus(comm, c.plan, opt.corpus, shard, report.Lines());
  report.EndRead(c.read, opt.corpus);

  /* ---- 3. Vocabulary: the global top V by count (ties by byte order), on every rank ---- */
  report.Begin("vocabulary");
  c.vocab = ReduceVocabulary(comm, shard.words, opt.vocab, listed_words);
  TokenIds ids = MapToVocabulary(c.vocab, std::move(shard));
  report.EndVocabulary(c.vocab, opt.vocab);
  // word2vec's windows train on the token stream, which counting consumes.
  if (opt.mode == Mode::kSgd && opt.train.sampling == Sampling::kWindows) c.tokens = ids.Joined();

  /* ---- 4. Count: windowed pairs counted locally, in bounded buffers ---- */
  report.Begin("count");
  PartialCounts partial = CountPairs(comm, std::move(ids), c.vocab.size(), opt.count, &c.count_stats, report.Lines());
  report.EndCount(c.count_stats, c.vocab, opt.count.window);

  /* ---- 5. Reduce: the counts summed at their row owners, rows balanced by nonzeros ---- */
  report.Begin("reduce");
  c.counts = ReduceCounts(comm, std::move(partial), &c.reduce_stats);
  report.EndReduce(c.counts, c.vocab);
  ReleaseCachedMemory();  // the counting stages' freed buffers, kept for reuse until here
  return c;
}

// Collective. Instead of phases 1-5: the counts of an earlier output (--counts-from), whose
// vocabulary and window settings this run adopts.
Counted LoadSavedCounts(MPI_Comm comm, Options& opt, Report& report) {
  report.Begin("load counts");
  RunAgreed(comm, [&] {
    if (CommRank(comm) == 0) opt.CheckFiles({});
  });
  SavedCounts saved = LoadCounts(comm, opt.count.from, opt);
  opt.vocab = saved.vocab_options;
  opt.count.window = saved.window;
  Counted c;
  c.plan = std::move(saved.plan);
  c.read = saved.read;
  c.vocab = std::move(saved.vocab);
  c.counts = std::move(saved.counts);
  report.EndLoadCounts(c.counts, c.vocab, opt.count.from);
  return c;
}

int Run(MPI_Comm comm, int argc, char** argv) {
  const int rank = CommRank(comm);
  try {
    /* ---- Options: every rank parses the same argv; nothing runs on a bad command line ---- */
    const CommandLine cl = ParseCommandLine(argc, argv);
    if (cl.help) {
      if (rank == 0) std::printf("%s", cl.usage.c_str());
      return 0;
    }
    Options opt = cl.options;  // --counts-from adopts the saved counts' vocabulary and window settings
    Report report(comm, opt.output.progress_seconds);
    const Placement placement = GatherPlacement(comm);
    // The small input files are read first, so that a bad one fails in the first second.
    const EvalData eval_data = ReadEvaluationData(comm, opt.eval);
    const std::vector<std::string> listed_words =
        opt.vocab.read.empty() ? std::vector<std::string>() : ReadVocabularyFile(comm, opt.vocab.read);
    if (opt.eigenpairs() && !opt.eigen.from.empty())
      CheckEigenpairsFile(comm, opt.eigen.from, opt.target, opt.eigen.dim);
    report.Start(placement, opt.command_line, eval_data);
    if (opt.training()) InstallStopHandlers();  // a signal before training starts stops it at step 0

    /* ---- 1-5. Counts: discover, read, vocabulary, count, reduce (or --counts-from) ---- */
    Counted counted = opt.count.from.empty()
                          ? CountCorpus(comm, opt, opt.vocab.read.empty() ? nullptr : &listed_words, report)
                          : LoadSavedCounts(comm, opt, report);
    const Vocabulary& vocab = counted.vocab;
    const CooccurrenceRows& counts = counted.counts;
    const global_int_t V = vocab.size();
    opt.CheckForVocabulary(V);
    if (!opt.counts_only) RequireCooccurringPairs(counts);
    if (!opt.output.save_vocab.empty()) SaveVocabulary(comm, opt.output.save_vocab, vocab);
    TrainingSetup setup{opt.mode, opt.eigen.dim, opt.count.window, opt.target.nu, opt.train};  // steps: below
    if (opt.training()) CheckTrainingMemory(comm, setup, V);
    CheckEigenMemory(comm,
                     opt.eigenpairs() && opt.eigen.from.empty() && opt.eigen.solver == EigenSolverKind::kScalapack,
                     opt.target.full_spectrum && !opt.counts_only, V);

    std::optional<EigenResult> eig;
    std::vector<double> full_spectrum;
    Target target;  // kept for gd, which trains on it
    const bool solve = opt.eigenpairs() && opt.eigen.from.empty();
    if (solve || opt.mode == Mode::kGd || (opt.target.full_spectrum && !opt.counts_only)) {
      /* ---- 6. Target: M* (or PPMI, PMI) as its sparse entries plus a rank-one constant ---- */
      report.Begin("target");
      target = BuildTarget(comm, counts, vocab, opt.target);
      if (opt.target.full_spectrum) full_spectrum = ComputeFullSpectrum(comm, target);
      report.EndTarget(target, opt.target, full_spectrum);

      /* ---- 7. Eigensolve: the top-d eigenpairs (block Lanczos, or SLEPc with --eigensolver slepc) ---- */
      if (solve) {
        report.Begin("eigensolve");
        EigenOptions wanted = opt.eigen;  // training: more than d for the coupled theory
        wanted.dim = opt.EigenpairsWanted(V);
        eig = ComputeEigenpairs(comm, target, wanted, opt.target.op, report.Lines(), opt.training());
        if (eig->stop_signal)  // a training run stopped before its first step: nothing to checkpoint
          throw Interrupted("interrupted by signal " + std::to_string(eig->stop_signal) +
                            " during the eigensolve, before training; run again (a closed-form run's eigenpairs "
                            "can be reused with --eigen-from)");
        report.EndEigensolve(*eig, "");
      }
      if (opt.mode != Mode::kGd) target = {};
    }
    if (opt.eigenpairs() && !solve) {
      /* ---- 7. (or) The eigenpairs of an earlier output (--eigen-from) ---- */
      report.Begin("eigensolve");
      const int wanted = opt.EigenpairsWanted(V);
      eig = LoadEigenpairs(comm, opt.eigen.from, opt.count.window, vocab, opt.target, counts.row_begin, counts.row_end,
                           opt.eigen.dim, wanted);
      report.EndEigensolve(*eig, opt.eigen.from, wanted);
    }

    /* ---- 8. Train (--mode sgd|gd): W from small initialization, beside the theory's curves ---- */
    std::optional<TrainingResult> trained;
    if (opt.training()) {
      if (setup.train.lr_drop_auto) setup.train.lr_drop = AutoLrDrop(setup, eig->eigenvalues, V);
      if (setup.train.steps_auto) setup.train.steps = AutoSteps(setup, eig->eigenvalues, V);
      report.AutoHorizon(setup);
      report.Begin("train");
      trained = Train(comm, setup, {counts, vocab, &target, std::move(counted.tokens)}, eig ? &*eig : nullptr,
                      eval_data.analogies ? &*eval_data.analogies : nullptr, report.Lines());
      target = {};
      report.EndTrain(trained->record, setup.train.steps);
      if (trained->record.interrupted) {
        // The checkpoint: everything so far, then a distinct exit status.
        const std::string where = WriteCheckpoint(comm, opt, placement, vocab, setup, *trained, report);
        throw Interrupted("interrupted by signal " + std::to_string(trained->record.stop_signal) + " at step " +
                          std::to_string(trained->record.completed_steps) + " of " + std::to_string(setup.train.steps) +
                          "; checkpoint written to " + where + "; continue with --resume " + where);
      }
    }

    /* ---- 9. Evaluate: analogies (both protocols), word similarity, concept words ---- */
    std::optional<Embeddings> embeddings;
    std::optional<Evaluation> ev;
    if (eig || trained) {
      embeddings = trained ? TrainedEmbeddings(*trained, setup, V, opt.output.embeddings)
                           : ClosedFormEmbeddings(*eig, opt.eigen.power, V);
      report.Begin("evaluate");
      ev = Evaluate(comm, embeddings->rows(), eig ? EigenvectorRows(*eig, V) : LocalRows{}, vocab, eval_data, opt.eval);
      report.EndEvaluate(*ev, vocab, eig ? &*eig : nullptr);
    }

    /* ---- 10. Write: parallel HDF5 under a temporary name, renamed into place when complete ---- */
    report.Begin("write");
    {
      h5::OutputFile out(
          comm, opt.output.path,
          EstimateOutputBytes(vocab, opt.output.save_cooccurrence ? counts.nnz : 0, eig ? eig->dim() : 0,
                              embeddings ? embeddings->dim : 0, trained ? StoredMatrices(*trained) : 0, opt.eigen.dim));
      WriteMeta(out, comm, opt.command_line, placement, opt.vocab, V, opt.count);
      WriteCorpus(out, counted.plan, counted.read, vocab, counts);
      WriteVocabulary(out, vocab);
      if (opt.output.save_cooccurrence) WriteCooccurrence(out, comm, counts);
      if (eig) WriteSpectrum(out, *eig, V, opt.target, solve);
      if (!full_spectrum.empty()) WriteFullSpectrum(out, full_spectrum);
      if (embeddings) {
        WriteEmbeddings(out, *embeddings);
        if (ev->analogies) WriteAnalogies(out, *ev->analogies);
        for (const SimilarityReport& s : ev->similarity) WriteSimilarity(out, s);
      }
      if (eig) WriteConcepts(out, ev->concepts, vocab, *eig);
      if (trained) WriteTraining(out, comm, setup, vocab, trained->record, trained->state);
      report.End(opt.output.path);
      WriteTimings(out, comm, report.phases(), counted.count_stats, counted.reduce_stats);
      out.Commit();
    }
    if (embeddings && !opt.output.export_w2v.empty()) {
      ExportWord2Vec(comm, opt.output.export_w2v, vocab, embeddings->rows());
      report.Say("exported the embeddings to " + opt.output.export_w2v);
    }
    report.Summary(opt.output.path, vocab, opt.count.window, counts, eig ? &*eig : nullptr, opt.mode, opt.train,
                   trained ? &trained->record : nullptr, ev ? &*ev : nullptr);
    WarnUnusedPetscOptions(rank);
    return 0;
  } catch (const Interrupted& e) {
    if (rank == 0) {
      std::fflush(stdout);
      std::fprintf(stderr, "qwem-dist: %s\n", e.what());
    }
    return kExitInterrupted;
  } catch (const Error& e) {
    // Agreed error (or a usage error, the same on every rank): every rank is here with the
    // same message.
    if (rank == 0) {
      std::fflush(stdout);
      std::fprintf(stderr, "qwem-dist: error: %s\n", e.what());
    }
    return dynamic_cast<const UsageError*>(&e) ? kExitUsage : kExitError;
  } catch (const std::exception& e) {
    // Unexpected failure on this rank only: the others may be inside a collective, so abort.
    std::fprintf(stderr, "qwem-dist: internal error on rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(comm, kExitInternal);
    return kExitInternal;
  }
}

}  // namespace

int main(int argc, char** argv) {
  qwem::SelectBlasKernels(argv);  // may start this program again, before MPI does
  PetscCall(SlepcInitialize(&argc, &argv, nullptr, help));
  const int status = Run(PETSC_COMM_WORLD, argc, argv);
  if (qwem::h5::OpenBrokenFiles()) {
    // A write failed (a full disk) and the file could not be closed: finalizing would hang in
    // HDF5's collective close, so every rank (all of them learned of the failure) ends here.
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(status);
  }
  PetscCall(SlepcFinalize());
  return status;
}
