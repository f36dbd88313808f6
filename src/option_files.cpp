// Options::CheckFiles: the files a run reads and writes, checked before any real work.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "qwem/options.hpp"

namespace qwem {

namespace {

namespace fs = std::filesystem;

struct Named {
  std::string option;  // "--out", "the corpus", ...
  std::string path;
};

// The same file: by device and inode when both exist, else by absolute, normalized path.
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  std::error_code ea, eb;
  const fs::path ca = fs::weakly_canonical(fs::absolute(a), ea), cb = fs::weakly_canonical(fs::absolute(b), eb);
  return !ea && !eb && ca == cb;
}

void CheckReadable(const Named& input) {
  struct stat s {};
  if (stat(input.path.c_str(), &s) != 0) throw Error(input.option + " '" + input.path + "': " + std::strerror(errno));
  if (!S_ISREG(s.st_mode)) throw Error(input.option + " '" + input.path + "' is not a regular file");
  if (access(input.path.c_str(), R_OK) != 0)
    throw Error(input.option + " '" + input.path + "' cannot be read: " + std::strerror(errno));
}

// The output's folder exists and takes new files; the output itself, if it exists, is a file.
void CheckWritable(const Named& output) {
  const fs::path parent = fs::path(output.path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  struct stat s {};
  if (stat(dir.c_str(), &s) != 0 || !S_ISDIR(s.st_mode))
    throw Error(output.option + " '" + output.path + "': folder '" + dir + "' does not exist");
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(output.option + " '" + output.path + "': cannot write in '" + dir + "': " + std::strerror(errno));
  if (stat(output.path.c_str(), &s) == 0 && S_ISDIR(s.st_mode))
    throw Error(output.option + " '" + output.path + "' is a directory");
}

}  // namespace

void Options::CheckFiles(const std::vector<std::string>& corpus_files) const {
  std::vector<Named> inputs, outputs;
  for (const std::string& f : corpus_files) inputs.push_back({"the corpus file", f});
  if (eval.analogies) inputs.push_back({"--analogies", eval.analogies->path});
  for (const EvalFile& f : eval.similarity) inputs.push_back({"--similarity", f.path});
  if (!train.resume.empty()) inputs.push_back({"--resume", train.resume});
  if (!eigen.from.empty()) inputs.push_back({"--eigen-from", eigen.from});
  if (!count.from.empty()) inputs.push_back({"--counts-from", count.from});
  if (!vocab.read.empty()) inputs.push_back({"--read-vocab", vocab.read});
  outputs.push_back({"--out", output.path});
  if (training()) outputs.push_back({"--checkpoint", output.checkpoint});
  if (!output.export_w2v.empty()) outputs.push_back({"--export-w2v", output.export_w2v});
  if (!output.save_vocab.empty()) outputs.push_back({"--save-vocab", output.save_vocab});

  // The corpus, the evaluation files and --read-vocab have been read by now; the HDF5 inputs are
  // read late.
  for (const Named& in : inputs)
    if (in.option == "--resume" || in.option == "--eigen-from" || in.option == "--counts-from") CheckReadable(in);
  for (const Named& out : outputs) CheckWritable(out);
  // Every output is written as PATH.partial and renamed: both names are taken.
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = 0; j < outputs.size(); ++j)
      if (i != j &&
          (SameFile(outputs[i].path, outputs[j].path) || SameFile(outputs[i].path + ".partial", outputs[j].path)))
        throw Error(outputs[i].option + " '" + outputs[i].path + "' and " + outputs[j].option + " '" + outputs[j].path +
                    "' would write the same file");
  for (const Named& out : outputs)
    for (const Named& in : inputs) {
      // A checkpoint may replace the file it resumes from (a requeued job): the file is read
      // whole before anything is written, and replaced only by a complete one.
      if (out.option == "--checkpoint" && in.option == "--resume") continue;
      if (SameFile(out.path, in.path) || SameFile(out.path + ".partial", in.path))
        throw Error(out.option + " '" + out.path + "' would overwrite " + in.option + " '" + in.path +
                    "': refusing to destroy an input");
    }
}

}  // namespace qwem
