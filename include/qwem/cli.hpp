// The command line of qwem-dist. Options with two dashes are qwem-dist's (CLI11); options with
// one dash belong to PETSc/SLEPc's options database, which sees the full argv (-eps_tol 1e-6,
// -log_view). Strict: a misspelled option, one of ours given with one dash, or a stray word
// is a usage error, and PETSc options that nothing used are reported after the run.
#pragma once

#include <string>

#include "qwem/options.hpp"

namespace qwem {

struct CommandLine {
  Options options;
  bool help = false;  // --help or -h: print `usage` and exit, run nothing
  std::string usage;
};

// Not collective (every rank parses the same argv and reaches the same result). Fills every
// section of the options, resolves the defaults that depend on other options, and runs
// Options::Check. Throws UsageError with a one-line message.
CommandLine ParseCommandLine(int argc, char** argv);

// Not collective (call on every rank after the run; rank 0 prints). The PETSc/SLEPc options given
// that nothing queried, as -options_left reports them: one warning line each.
void WarnUnusedPetscOptions(int rank);

}  // namespace qwem
