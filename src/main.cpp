// qwem-dist: from raw text to word2vec's closed-form embeddings (SCIENCE.md sections 1-3, 6),
// distributed over MPI ranks, with PETSc/SLEPc and parallel HDF5.
//
// Sample runs:
//   mpirun -n 4 qwem-dist --corpus share/corpus --out qwem.h5
//   mpirun -n 256 qwem-dist --corpus wiki/ --vocab-size 100000 --dim 300 -eps_view -log_view
//
// Phases (each reported by rank 0 with elapsed time, rates and peak memory):
//   1. discover    rank 0 walks the corpus and plans the byte ranges; the plan is broadcast
//   2. read        every rank tokenizes its own byte range (and its whole .gz files)
//   3. vocabulary  words merged at hash owners, top-V selected by a tree merge, broadcast
//   4. count       windowed pairs counted locally with bounded buffers, reduced to row owners
//   5. assemble    the counts become a distributed PETSc matrix, rows balanced by nonzeros
//   6. target      M* (or PPMI, PMI) as sparse + rank one, and the operator SLEPc sees
//   7. eigensolve  the top-d eigenpairs (SLEPc Krylov-Schur) and the embeddings
//   8. evaluate    analogies (two protocols), word similarity, concept words
//   8b. train      (--mode sgd|gd) W from small initialization, with the theory's curves from the
//                  eigenpairs of step 7 (or --eigen-from); a SIGTERM/SIGUSR1 writes a checkpoint
//   9. write       parallel HDF5, renamed into place when complete; optional word2vec export
#include <slepcsys.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "qwem/cli.hpp"
#include "qwem/common.hpp"
#include "qwem/cooccurrence.hpp"
#include "qwem/eigen.hpp"
#include "qwem/eval.hpp"
#include "qwem/target.hpp"
#include "qwem/corpus.hpp"
#include "qwem/h5io.hpp"
#include "qwem/output.hpp"
#include "qwem/progress.hpp"
#include "qwem/sgd.hpp"
#include "qwem/train.hpp"
#include "qwem/vocab.hpp"

static const char help[] = "qwem-dist: run with --help for the application's options.\n";

namespace {

using namespace qwem;

// A signal stopped training and a checkpoint was written: exit with kExitInterrupted, so batch
// scripts and SLURM dependencies see that the work is not finished.
struct Interrupted : Error {
  using Error::Error;
};
constexpr int kExitInterrupted = 3;

int Run(MPI_Comm comm, int argc, char** argv) {
  const int rank = CommRank(comm), size = CommSize(comm);
  std::optional<h5::OutputFile> out;
  try {
    Options opt;
    std::string usage;
    ParseResult parsed = ParseResult::kRun;
    RunAgreed(comm, [&] { parsed = ParseOptions(argc, argv, opt, usage); });
    if (parsed == ParseResult::kHelp) {
      if (rank == 0) std::printf("%s", usage.c_str());
      return 0;
    }
    Progress progress(comm);
    const Placement placement = GatherPlacement(comm);
    progress.Say("qwem-dist " + std::string(QWEM_VERSION) + " on " + placement.Describe());
    progress.Say("command: " + opt.command_line);
    progress.Say("libraries: " + MpiVersion() + "; " + PetscVersion() + "; " + SlepcVersion() + "; HDF5 " +
                 h5::LibraryVersion());

    // 1. Discover the corpus and plan every rank's byte range.
    progress.Begin("discover");
    const CorpusPlan plan = DiscoverCorpus(comm, opt.corpus);
    progress.End(std::to_string(plan.files.size()) + " files, " + FormatBytes(static_cast<double>(plan.plain_bytes)) +
                 " plain + " + FormatBytes(static_cast<double>(plan.gzip_bytes)) + " gzip");

    // 2. Read and tokenize this rank's shard into a local dictionary and id stream.
    progress.Begin("read");
    LocalShard shard;
    ShardReadStats read_stats;
    RunAgreed(comm, [&] {
      read_stats = ReadShard(plan, rank, shard, static_cast<std::size_t>(opt.max_token_bytes));
    });
    const global_int_t n_text_bytes = AllreduceSum(comm, read_stats.text_bytes);
    const global_int_t n_tokens = AllreduceSum(comm, shard.n_tokens);
    const global_int_t n_overlong = AllreduceSum(comm, static_cast<global_int_t>(read_stats.n_overlong));
    const double read_seconds = progress.End(FormatBytes(static_cast<double>(n_text_bytes)) + " of text, " +
                                             FormatCount(static_cast<double>(n_tokens)) + " tokens");
    progress.Say("read rate: " + FormatCount(n_text_bytes / 1e6 / read_seconds) + " MB/s, " +
                 FormatCount(n_tokens / read_seconds) + " tokens/s");
    if (n_tokens == 0)
      throw Error(n_overlong > 0 ? "the corpus has no tokens: its " + std::to_string(n_overlong) +
                                       " whitespace-separated words are all longer than --max-token-bytes=" +
                                       std::to_string(opt.max_token_bytes)
                                 : "the corpus has no tokens (empty or whitespace-only files)");
    if (n_overlong > 0)
      progress.Warn(std::to_string(n_overlong) + " tokens longer than --max-token-bytes=" +
                    std::to_string(opt.max_token_bytes) + " were skipped");

    // 3. Vocabulary: global top-V by count, ties by byte order.
    progress.Begin("vocabulary");
    Vocabulary vocab = ReduceVocabulary(comm, shard.words, {opt.vocab_size, opt.min_count});
    MapToVocabulary(vocab, shard);
    shard.words = WordTable();
    char line[256];
    std::snprintf(line, sizeof line, "V = %lld of %lld distinct words, %s tokens, coverage %.2f%%",
                  static_cast<long long>(vocab.size()), static_cast<long long>(vocab.n_distinct_words),
                  FormatCount(static_cast<double>(vocab.n_total_tokens)).c_str(), 100.0 * vocab.coverage());
    progress.End(line);
    if (vocab.clamped())
      progress.Warn("--vocab-size=" + std::to_string(opt.vocab_size) + " but only " + std::to_string(vocab.size()) +
                    " words reach --min-count=" + std::to_string(opt.min_count) + "; using V = " +
                    std::to_string(vocab.size()));

    // SGD on word2vec's windows trains on the token stream itself, which counting consumes.
    std::vector<word_id_t> train_tokens;
    if (opt.mode == "sgd" && opt.sampling == "windows") {
      train_tokens.reserve(shard.stream.size() + shard.whole.size() + 1);
      train_tokens.assign(shard.stream.begin(), shard.stream.end());
      if (!shard.whole.empty()) {
        if (!train_tokens.empty() && train_tokens.back() != kBoundary) train_tokens.push_back(kBoundary);
        train_tokens.insert(train_tokens.end(), shard.whole.begin(), shard.whole.end());
      }
    }

    // 4. Windowed co-occurrence counts: counted locally, then reduced to their row owners.
    progress.Begin("count");
    CountStats count_stats;
    LocalCounts local = CountLocal(comm, shard.stream, shard.whole, vocab.size(),
                                   {opt.window, static_cast<std::size_t>(opt.count_buffer_mb) << 20}, &count_stats);
    // Every in-vocabulary token is counted once as a first position.
    const auto positions = static_cast<double>(vocab.n_in_vocab_tokens);
    std::snprintf(line, sizeof line, "L = %d, %s positions, %lld dense words, %d sparse flushes", opt.window,
                  FormatCount(positions).c_str(), static_cast<long long>(count_stats.hot_words),
                  count_stats.n_cold_flushes);
    const double count_seconds = progress.End(line);
    const double pair_loop = AllreduceMax(comm, count_stats.kernel_seconds);
    const double per_rank = positions / size;
    std::snprintf(line, sizeof line, "count rate: %s in-vocab tokens/s/rank (pair loop %.2f s: %s/s/rank)",
                  FormatCount(per_rank / count_seconds).c_str(), pair_loop, FormatCount(per_rank / pair_loop).c_str());
    progress.Say(line);

    progress.Begin("reduce");
    const CooccurrenceRows rows = ReduceCounts(std::move(local), &count_stats);
    std::snprintf(line, sizeof line, "N = %s pairs, nnz = %s (%.1f%% dense), rows balanced by nonzeros",
                  FormatCount(static_cast<double>(rows.n_pairs)).c_str(), FormatCount(static_cast<double>(rows.nnz)).c_str(),
                  100.0 * static_cast<double>(rows.nnz) / (static_cast<double>(vocab.size()) * vocab.size()));
    const double reduce_seconds = progress.End(line);
    std::snprintf(line, sizeof line, "count + reduce: %s in-vocab tokens/s/rank",
                  FormatCount(per_rank / (count_seconds + reduce_seconds)).c_str());
    progress.Say(line);

    // 5. The counts as a distributed PETSc matrix.
    progress.Begin("assemble");
    Mat C = nullptr;
    PetscThrow(AssembleCountMatrix(comm, rows, &C), "AssembleCountMatrix");
    MatInfo info;
    PetscThrow(MatGetInfo(C, MAT_GLOBAL_SUM, &info), "MatGetInfo");
    progress.End("MATAIJ " + std::to_string(vocab.size()) + " x " + std::to_string(vocab.size()) + ", " +
                 FormatCount(info.nz_used) + " nonzeros, rows balanced by nonzeros");
    ReleaseCachedMemory();  // the counting stages' freed buffers, kept for reuse until here

    // 6. The target matrix (M*, PPMI or PMI) as sparse + rank one, and the operator SLEPc sees.
    const bool training = opt.mode != "closed";
    if (training) InstallStopHandlers();  // a signal before training starts stops at step 0
    std::optional<EigenResult> eig;
    std::vector<double> embeddings, full_spectrum;
    OperatorChoice choice;
    Target target;
    if (training && opt.counts_only) throw Error("--counts-only cannot be combined with --mode " + opt.mode);
    if (training && opt.target != "mstar") throw Error("--mode " + opt.mode + " trains on M*: --target must be mstar");
    if (!opt.counts_only) {
      if (opt.dim >= vocab.size())
        throw Error("--dim=" + std::to_string(opt.dim) + " must be smaller than V = " + std::to_string(vocab.size()));
      progress.Begin("target");
      PetscThrow(BuildTarget(comm, rows, vocab, {ParseTargetKind(opt.target), opt.ns_weight, opt.window}, &target),
                 "BuildTarget");
      Mat op = nullptr;
      PetscThrow(CreateOperator(target, ParseOperatorKind(opt.op), &op, &choice), "CreateOperator");
      if (opt.full_spectrum) {
        if (vocab.size() > kAutoDenseMaxWords)
          throw Error("--full-spectrum needs the dense matrix: V must be at most " + std::to_string(kAutoDenseMaxWords));
        Mat dense;
        PetscThrow(CreateDenseTarget(target, &dense), "CreateDenseTarget");
        PetscThrow(SolveFullSpectrum(dense, &full_spectrum), "SolveFullSpectrum");
        PetscThrow(MatDestroy(&dense), "MatDestroy");
      }
      if (!training || opt.mode != "gd") PetscThrow(DestroyTarget(&target), "DestroyTarget");
      std::snprintf(line, sizeof line, "%s = sparse part (%s nonzeros) %+g 11^T", opt.target.c_str(),
                    FormatCount(static_cast<double>(rows.nnz)).c_str(), target.rank_one);
      std::string how = line;
      if (choice.requested == OperatorKind::kAuto && choice.dense_seconds > 0) {
        std::snprintf(line, sizeof line, "; auto: sparse %.1f ms, dense %.1f ms per product", 1e3 * choice.sparse_seconds,
                      1e3 * choice.dense_seconds);
        how += line;
      }
      if (!full_spectrum.empty()) how += "; full spectrum (" + std::to_string(full_spectrum.size()) + " eigenvalues, LAPACK)";
      progress.End(how + "; operator " + ToString(choice.chosen));

      // 7. Top-d eigenpairs (Krylov-Schur unless -eps_type says otherwise) and embeddings.
      progress.Begin("eigensolve");
      eig.emplace();
      if (!opt.eigen_from.empty()) {
        *eig = LoadEigenpairs(comm, opt.eigen_from, opt, vocab, rows.row_begin, rows.row_end, opt.dim);
        progress.End("loaded " + std::to_string(eig->dim()) + " eigenpairs of M* from " + opt.eigen_from);
      } else {
        EigenOptions eopt;
        eopt.dim = opt.dim;
        eopt.report = [&](const std::string& text) { progress.Say(text); };
        eopt.report_seconds = opt.progress_seconds;
        PetscThrow(SolveTopEigenpairs(op, eopt, &*eig), "SolveTopEigenpairs");
        if (eig->n_converged < opt.dim)
          throw Error("only " + std::to_string(eig->n_converged) + " of " + std::to_string(opt.dim) +
                      " eigenpairs converged (" + eig->solver + ", " + std::to_string(eig->n_restarts) +
                      " restarts); raise -eps_max_it or -eps_ncv, or lower --dim");
        double worst = 0;
        for (double r : eig->residuals) worst = std::max(worst, r);
        std::string top;
        for (int k = 0; k < std::min(5, eig->dim()); ++k) {
          std::snprintf(line, sizeof line, "%s%.1f", k ? ", " : "", eig->eigenvalues[k]);
          top += line;
        }
        const std::string products = eig->n_matvecs >= 0 ? std::to_string(eig->n_matvecs) : "uncounted (explicit matrix)";
        std::snprintf(line, sizeof line, "; lambda_%d = %.1f; %lld converged, max rel. residual %.1e, %s products, %lld restarts (%s)",
                      eig->dim(), eig->eigenvalues.back(), static_cast<long long>(eig->n_converged), worst,
                      products.c_str(), static_cast<long long>(eig->n_restarts), eig->solver.c_str());
        progress.End("top eigenvalues " + top + line);
      }
      embeddings = ComputeEmbeddings(*eig, opt.eig_power);
      PetscThrow(MatDestroy(&op), "MatDestroy");
    }

    // 8b. Learning dynamics: W from small initialization, beside the theory's curves.
    std::optional<Trainer> trainer;
    TrainRecord record;
    if (training) {
      progress.Begin("train");
      TrainOptions topt;
      topt.mode = ParseTrainMode(opt.mode);
      topt.loss = ParseLossKind(opt.loss);
      topt.sampling = ParseSampling(opt.sampling);
      topt.separate_output = opt.output_vectors == "separate";
      topt.context_group = opt.context_group;
      topt.dim = opt.dim;
      topt.init_scale = opt.init_scale;
      topt.seed = static_cast<std::uint64_t>(opt.seed);
      topt.steps = opt.steps;
      topt.batch = opt.batch;
      topt.negatives = opt.negatives;
      topt.nu = opt.ns_weight;
      topt.lr = opt.lr;
      topt.lr_linear = opt.lr_schedule == "linear";
      topt.subsample = opt.subsample;
      topt.sync_every = opt.sync_every;
      topt.window = opt.window;
      trainer.emplace(comm, topt, rows, vocab, &target, std::move(train_tokens));
      if (!opt.resume.empty()) {
        std::vector<double> state, output_state;
        record = ReadTraining(comm, opt.resume, opt, vocab, rows.row_begin, rows.row_end, &state,
                              trainer->has_output_vectors() ? &output_state : nullptr);
        trainer->Restore(record.completed_steps, state, output_state);
        progress.Say("resuming from " + opt.resume + " at step " + std::to_string(record.completed_steps));
      } else {
        trainer->Initialize();
      }
      AnalogyProbe probe;
      AnalogyQuestions probe_questions;
      const Options defaults;
      if (opt.analogies != "none" && (opt.analogies != defaults.analogies || std::filesystem::exists(opt.analogies))) {
        RunAgreed(comm, [&] { probe_questions = ReadAnalogies(opt.analogies); });
        probe = [&](const LocalRows& W) {
          const AnalogyReport r = EvaluateAnalogies(comm, W, vocab, probe_questions, 20000);
          return std::make_pair(r.accuracy(false, -1), r.accuracy(true, -1));
        };
      }
      RunTraining(comm, *trainer, eig ? &*eig : nullptr, {opt.log_every, opt.checkpoints, opt.eval_every, opt.progress_seconds}, probe,
                  progress, record);
      if (opt.mode == "gd") PetscThrow(DestroyTarget(&target), "DestroyTarget");
      std::snprintf(line, sizeof line, "%lld steps this run (%lld of %lld done)%s; theory agreement (top 10) %.4f",
                    static_cast<long long>(record.steps_this_run), static_cast<long long>(record.completed_steps),
                    static_cast<long long>(opt.steps),
                    record.interrupted ? (", interrupted by signal " + std::to_string(record.stop_signal)).c_str() : "",
                    record.Agreement(10));
      progress.End(line);
      if (record.interrupted) {
        // Checkpoint: the whole output so far, under --checkpoint, then a distinct exit status.
        h5::OutputFile ckpt(comm, opt.checkpoint);
        WriteMeta(ckpt, comm, opt, vocab.size(), placement);
        WriteVocabulary(ckpt, vocab);
        WriteTraining(ckpt, comm, record, *trainer, opt, vocab);
        ckpt.Commit();
        throw Interrupted("interrupted by signal " + std::to_string(record.stop_signal) + " at step " +
                          std::to_string(record.completed_steps) + " of " + std::to_string(opt.steps) +
                          "; checkpoint written to " + opt.checkpoint + "; continue with --resume " + opt.checkpoint);
      }
      embeddings = trainer->CopyRows();
    }

    // 8. Evaluate and explain: analogies (both protocols), word similarity, concepts.
    std::optional<AnalogyReport> analogies;
    std::vector<SimilarityReport> similarity;
    std::vector<Concept> concepts;
    if (eig) {
      progress.Begin("evaluate");
      if (trainer && (trainer->row_begin() != eig->row_begin || trainer->row_end() != eig->row_end))
        throw std::runtime_error("trained rows and eigenvector rows differ in layout");
      const LocalRows emb{embeddings.data(), eig->row_begin, eig->row_end, vocab.size(), trainer ? opt.dim : eig->dim()};
      const LocalRows vecs{eig->vectors.data(), eig->row_begin, eig->row_end, vocab.size(), eig->dim()};
      // The bundled defaults may be absent (binary moved away from the source tree): skip them
      // with a warning. Files the user named must exist.
      const Options defaults;
      auto usable = [&](const std::string& path, bool is_default) {
        if (!is_default || std::filesystem::exists(path)) return true;
        progress.Warn("default evaluation file '" + path + "' not found; skipped");
        return false;
      };
      if (opt.analogies != "none" && usable(opt.analogies, opt.analogies == defaults.analogies)) {
        AnalogyQuestions questions;
        RunAgreed(comm, [&] { questions = ReadAnalogies(opt.analogies); });
        analogies = EvaluateAnalogies(comm, emb, vocab, questions);
      }
      for (const auto& path : opt.similarity) {
        if (!usable(path, opt.similarity == defaults.similarity)) continue;
        SimilarityPairs pairs;
        RunAgreed(comm, [&] { pairs = ReadSimilarity(path); });
        similarity.push_back(EvaluateSimilarity(comm, emb, vocab, pairs));
      }
      concepts = ExtractConcepts(comm, vecs, std::min(opt.concepts, eig->dim()), opt.concept_words);
      progress.End(analogies ? "analogies, similarity and concepts" : "similarity and concepts");
      SayEvaluation(progress, analogies ? &*analogies : nullptr, similarity, concepts, vocab, *eig);
    }

    // 9. Write the results, collectively, under a temporary name.
    progress.Begin("write");
    out.emplace(comm, opt.out);
    WriteMeta(*out, comm, opt, vocab.size(), placement);
    WriteCorpus(*out, plan, vocab, rows, n_overlong);
    WriteVocabulary(*out, vocab);
    if (opt.save_cooccurrence) WriteCooccurrence(*out, comm, rows);
    if (eig) WriteSpectrum(*out, *eig, embeddings, vocab.size(), opt, choice);
    if (!full_spectrum.empty()) out->WriteReplicated("/spectrum/full_eigenvalues", full_spectrum);
    if (eig) WriteEvaluation(*out, analogies ? &*analogies : nullptr, similarity, concepts, vocab, *eig);
    if (trainer) WriteTraining(*out, comm, record, *trainer, opt, vocab);
    progress.End(opt.out);
    WriteTimings(*out, progress);
    out->Attribute("/timings", "count_pair_loop_seconds_max", AllreduceMax(comm, count_stats.kernel_seconds));
    out->Attribute("/timings", "reduce_seconds_max", AllreduceMax(comm, count_stats.reduce_seconds));
    out->Attribute("/timings", "count_dense_words", count_stats.hot_words);
    out->Commit();
    if (eig && !opt.export_w2v.empty()) {
      ExportWord2Vec(comm, opt.export_w2v, vocab, *eig, embeddings);
      progress.Say("exported the embeddings to " + opt.export_w2v);
    }
    PetscThrow(MatDestroy(&C), "MatDestroy");

    // The last line of the log: where the result is and what it says, in one line.
    std::snprintf(line, sizeof line, "done: wrote %s in %.2f s; %s tokens, V = %lld (coverage %.1f%%), L = %d, nnz = %lld",
                  opt.out.c_str(), progress.Elapsed(), FormatCount(static_cast<double>(vocab.n_total_tokens)).c_str(),
                  static_cast<long long>(vocab.size()), 100.0 * vocab.coverage(), opt.window,
                  static_cast<long long>(rows.nnz));
    std::string summary = line;
    if (eig && !eig->eigenvalues.empty()) {
      std::snprintf(line, sizeof line, ", lambda_1 = %.1f", eig->eigenvalues[0]);
      summary += line;
    }
    if (trainer && !record.step.empty()) {
      std::snprintf(line, sizeof line, ", %s %s: %lld steps, s_1 = %.3g", opt.mode.c_str(), opt.loss.c_str(),
                    static_cast<long long>(record.completed_steps), record.singular_values[record.singular_values.size() - record.dim]);
      summary += line;
      if (record.n_overlap > 0) {
        const int k = std::min(5, record.n_overlap);
        std::snprintf(line, sizeof line, ", top-%d overlap %.3f, theory agreement %.3f", k,
                      record.overlap[record.overlap.size() - record.n_overlap + k - 1], record.Agreement(10));
        summary += line;
      }
    }
    if (analogies) {
      std::snprintf(line, sizeof line, ", analogy %.1f%% of %lld", 100 * analogies->accuracy(false, -1),
                    static_cast<long long>(analogies->total(false, -1)));
      summary += line;
    }
    progress.Say(summary);
    return 0;
  } catch (const Interrupted& e) {
    out.reset();
    if (rank == 0) {
      std::fflush(stdout);
      std::fprintf(stderr, "qwem-dist: %s\n", e.what());
    }
    return kExitInterrupted;
  } catch (const Error& e) {
    // Agreed error: every rank is here with the same message.
    out.reset();
    if (rank == 0) {
      std::fflush(stdout);
      std::fprintf(stderr, "qwem-dist: error: %s\n", e.what());
    }
    return 1;
  } catch (const std::exception& e) {
    // Unexpected failure on this rank only: the others may be inside a collective, so abort.
    std::fprintf(stderr, "qwem-dist: internal error on rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(comm, 2);
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  PetscCall(SlepcInitialize(&argc, &argv, nullptr, help));
  const int status = Run(PETSC_COMM_WORLD, argc, argv);
  PetscCall(SlepcFinalize());
  return status;
}
