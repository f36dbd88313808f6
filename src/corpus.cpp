#include "qwem/corpus.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <set>

#include "qwem/format.hpp"

namespace qwem {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunkBytes = std::size_t{4} << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr OpenOrThrow(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  return f;
}

// Reads up to n bytes at offset; throws with the file name on I/O errors.
std::size_t ReadAt(std::FILE* f, const std::string& path, global_int_t offset, char* buf, std::size_t n) {
  if (fseeko(f, offset, SEEK_SET) != 0) throw Error("cannot seek in '" + path + "': " + std::strerror(errno));
  const std::size_t got = std::fread(buf, 1, n, f);
  if (got < n && std::ferror(f)) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  return got;
}

bool LooksLikeWiki(const char* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n && IsWhitespace(p[i])) ++i;
  return n - i >= 5 && std::memcmp(p + i, "<doc", 4) == 0 && (p[i + 4] == ' ' || p[i + 4] == '>');
}

// Sizes and sniffs one file: gzip by magic bytes, WikiExtractor by a leading "<doc" tag.
CorpusFile SniffFile(const std::string& path) {
  CorpusFile file;
  file.path = path;
  FilePtr f = OpenOrThrow(path);
  char head[512];
  const std::size_t n = ReadAt(f.get(), path, 0, head, sizeof head);
  std::error_code ec;
  file.bytes = static_cast<global_int_t>(fs::file_size(path, ec));
  if (ec) throw Error("cannot size '" + path + "': " + ec.message());
  file.text_bytes = file.bytes;
  if (n >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) {
    file.gzip = true;
    // ISIZE, the last 4 bytes (little endian): uncompressed size mod 2^32, used for balancing.
    unsigned char tail[4] = {0, 0, 0, 0};
    if (file.bytes >= 18 && ReadAt(f.get(), path, file.bytes - 4, reinterpret_cast<char*>(tail), 4) == 4)
      file.text_bytes = std::max<global_int_t>(
          file.bytes, tail[0] | (tail[1] << 8) | (tail[2] << 16) | (global_int_t{tail[3]} << 24));
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw Error("cannot open gzip file '" + path + "'");
    char zhead[512];
    const int zn = gzread(gz, zhead, sizeof zhead);
    gzclose(gz);
    if (zn < 0) throw Error("corrupt gzip file '" + path + "'");
    file.format = LooksLikeWiki(zhead, static_cast<std::size_t>(zn)) ? TextFormat::kWiki : TextFormat::kPlain;
  } else {
    file.format = LooksLikeWiki(head, n) ? TextFormat::kWiki : TextFormat::kPlain;
  }
  return file;
}

// The error of a path that cannot be followed, as the user should read it.
std::string Unreadable(const std::string& path, const std::error_code& ec) {
  if (ec == std::errc::too_many_symbolic_link_levels) return "cannot read '" + path + "': symbolic link loop";
  return "cannot read '" + path + "': " + ec.message();
}

std::vector<std::string> ListFiles(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) throw Error(Unreadable(path, ec));
  if (ec || !fs::exists(st)) throw Error("corpus path '" + path + "' does not exist");
  std::vector<std::string> paths;
  if (fs::is_regular_file(st)) {
    paths.push_back(path);
    return paths;
  }
  if (!fs::is_directory(st)) throw Error("corpus path '" + path + "' is neither a file nor a directory");
  // Directories are followed through symbolic links, each real directory once: a link back to
  // one already being walked is a loop.
  std::set<std::pair<dev_t, ino_t>> walked;
  auto identity = [](const fs::path& p) {
    struct stat s {};
    ::stat(p.c_str(), &s);
    return std::make_pair(s.st_dev, s.st_ino);
  };
  walked.insert(identity(path));
  fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, ec), end;
  if (ec) throw Error("cannot list directory '" + path + "': " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error("cannot list directory '" + path + "': " + ec.message());
    const fs::path p = it->path();
    if (p.filename().string().rfind('.', 0) == 0) {  // hidden: skip, and do not descend
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    const fs::file_status s = fs::status(p, ec);
    if (ec == std::errc::no_such_file_or_directory && it->is_symlink())
      throw Error("cannot read '" + p.string() + "': dangling symbolic link");
    if (ec) throw Error(Unreadable(p.string(), ec));
    if (fs::is_directory(s)) {
      if (!walked.insert(identity(p)).second)
        throw Error("cannot read '" + p.string() +
                    "': it leads to a directory already in the corpus (a symbolic link loop, or a second link to it)");
      continue;
    }
    if (!fs::is_regular_file(s)) throw Error("'" + p.string() + "' in the corpus is not a regular file");
    paths.push_back(p.string());
  }
  if (ec) throw Error("cannot list directory '" + path + "': " + ec.message());
  if (paths.empty()) throw Error("no files found under directory '" + path + "'");
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Splits the plain byte space so every rank ends with about the same total text: gzip files
// go first, largest first to the least-loaded rank (LPT); plain bytes then fill each rank up
// to a common level ("water filling"), contiguously in rank order.
void AssignRanges(CorpusPlan& plan, int n_ranks) {
  plan.gzip_of.assign(n_ranks, {});
  std::vector<global_int_t> load(n_ranks, 0);
  std::vector<int> gz;
  for (int i = 0; i < static_cast<int>(plan.files.size()); ++i)
    if (plan.files[i].gzip) gz.push_back(i);
  std::stable_sort(gz.begin(), gz.end(),
                   [&](int a, int b) { return plan.files[a].text_bytes > plan.files[b].text_bytes; });
  for (int i : gz) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    plan.gzip_of[r].push_back(i);
    load[r] += plan.files[i].text_bytes;
  }
  for (auto& v : plan.gzip_of) std::sort(v.begin(), v.end());

  const global_int_t total = plan.plain_bytes;
  plan.range_begin.assign(n_ranks + 1, total);
  if (gz.empty()) {
    for (int r = 0; r <= n_ranks; ++r)
      plan.range_begin[r] = static_cast<global_int_t>((static_cast<__int128>(total) * r) / n_ranks);
    return;
  }
  // Level X with sum_r max(0, X - load_r) = total.
  std::vector<global_int_t> sorted = load;
  std::sort(sorted.begin(), sorted.end());
  double level = 0, prefix = 0;
  for (int k = 1; k <= n_ranks; ++k) {
    prefix += static_cast<double>(sorted[k - 1]);
    level = (static_cast<double>(total) + prefix) / k;
    if (k == n_ranks || level <= static_cast<double>(sorted[k])) break;
  }
  double cum = 0;
  for (int r = 0; r < n_ranks; ++r) {
    plan.range_begin[r] = std::min<global_int_t>(total, static_cast<global_int_t>(cum + 0.5));
    cum += std::max(0.0, level - static_cast<double>(load[r]));
  }
  plan.range_begin[n_ranks] = total;
}

// Serialization of the plan for the broadcast.
void Put(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
template <class T>
void PutPod(std::string& out, T v) {
  Put(out, &v, sizeof v);
}
template <class T>
T GetPod(const std::string& in, std::size_t& pos) {
  T v;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return v;
}

std::string SerializePlan(const CorpusPlan& plan) {
  std::string out;
  PutPod<std::uint64_t>(out, plan.files.size());
  for (const auto& f : plan.files) {
    PutPod<std::uint64_t>(out, f.path.size());
    Put(out, f.path.data(), f.path.size());
    PutPod(out, f.bytes);
    PutPod(out, f.text_bytes);
    PutPod<std::uint8_t>(out, f.gzip);
    PutPod<std::uint8_t>(out, f.format == TextFormat::kWiki);
    PutPod(out, f.offset);
  }
  PutPod(out, plan.plain_bytes);
  PutPod(out, plan.gzip_bytes);
  PutPod<std::uint64_t>(out, plan.range_begin.size());
  for (auto b : plan.range_begin) PutPod(out, b);
  PutPod<std::uint64_t>(out, plan.gzip_of.size());
  for (const auto& v : plan.gzip_of) {
    PutPod<std::uint64_t>(out, v.size());
    for (int i : v) PutPod(out, i);
  }
  return out;
}

CorpusPlan DeserializePlan(const std::string& in) {
  CorpusPlan plan;
  std::size_t pos = 0;
  plan.files.resize(GetPod<std::uint64_t>(in, pos));
  for (auto& f : plan.files) {
    const auto n = GetPod<std::uint64_t>(in, pos);
    f.path.assign(in.data() + pos, n);
    pos += n;
    f.bytes = GetPod<global_int_t>(in, pos);
    f.text_bytes = GetPod<global_int_t>(in, pos);
    f.gzip = GetPod<std::uint8_t>(in, pos) != 0;
    f.format = GetPod<std::uint8_t>(in, pos) != 0 ? TextFormat::kWiki : TextFormat::kPlain;
    f.offset = GetPod<global_int_t>(in, pos);
  }
  plan.plain_bytes = GetPod<global_int_t>(in, pos);
  plan.gzip_bytes = GetPod<global_int_t>(in, pos);
  plan.range_begin.resize(GetPod<std::uint64_t>(in, pos));
  for (auto& b : plan.range_begin) b = GetPod<global_int_t>(in, pos);
  plan.gzip_of.resize(GetPod<std::uint64_t>(in, pos));
  for (auto& v : plan.gzip_of) {
    v.resize(GetPod<std::uint64_t>(in, pos));
    for (int& i : v) i = GetPod<int>(in, pos);
  }
  return plan;
}

// Reads units of a plain file whose first byte lies in [begin, end) (file-local offsets).
// The file as it was planned: a size that changed since the discovery means the corpus is being
// written to, and the plan (every rank's byte range) no longer describes it.
void CheckUnchanged(std::FILE* f, const CorpusFile& file) {
  struct stat s {};
  if (fstat(fileno(f), &s) != 0) throw Error("cannot stat '" + file.path + "': " + std::strerror(errno));
  if (static_cast<global_int_t>(s.st_size) != file.bytes)
    throw Error("'" + file.path + "' changed while the corpus was read: it had " + std::to_string(file.bytes) +
                " bytes when the corpus was planned, now " + std::to_string(s.st_size));
}

void ReadPlainPiece(const CorpusFile& file, global_int_t begin, global_int_t end, std::vector<char>& buf,
                    TokenSink& sink, std::size_t max_token, ReadStats& stats, ProgressMeter& meter) {
  FilePtr f = OpenOrThrow(file.path);
  CheckUnchanged(f.get(), file);
  const bool wiki = file.format == TextFormat::kWiki;
  // Units are tokens (plain text) or lines (WikiExtractor); this byte ends one.
  auto ends_unit = [&](char c) { return wiki ? c == '\n' : IsWhitespace(c); };
  global_int_t pos = begin;
  if (begin == 0) {
    sink.Boundary();
  } else {
    // Skip the tail of a unit that started before `begin`: it belongs to the previous rank.
    char prev = 0;
    if (ReadAt(f.get(), file.path, begin - 1, &prev, 1) != 1) return;
    bool found = ends_unit(prev);
    while (!found && pos < file.bytes) {
      const std::size_t n = ReadAt(f.get(), file.path, pos, buf.data(), buf.size());
      stats.bytes_read += static_cast<global_int_t>(n);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) {
        if (ends_unit(buf[i])) {
          found = true;
          pos += static_cast<global_int_t>(i + (wiki ? 1 : 0));  // a wiki unit begins after the '\n'
          break;
        }
      }
      if (!found) pos += static_cast<global_int_t>(n);
    }
    if (!found || pos >= end) return;
  }

  Tokenizer tok(file.format, file.path, static_cast<std::uint64_t>(pos), max_token);
  char last = '\n';
  while (pos < end) {
    const std::size_t want = static_cast<std::size_t>(std::min<global_int_t>(end - pos, buf.size()));
    const std::size_t n = ReadAt(f.get(), file.path, pos, buf.data(), want);
    if (n == 0) CheckUnchanged(f.get(), file);  // ended before its planned size: it shrank
    if (n == 0) break;
    last = buf[n - 1];
    tok.Feed(buf.data(), n, sink);
    pos += static_cast<global_int_t>(n);
    stats.bytes_read += static_cast<global_int_t>(n);
    stats.text_bytes += static_cast<global_int_t>(n);
    meter.Update(static_cast<double>(stats.bytes_read), [&](double seconds) {
      return FormatCount(static_cast<double>(stats.n_tokens + tok.n_tokens()) / std::max(seconds, 1e-9)) + " tokens/s";
    });
  }
  // Finish the unit that started before `end` (a token for plain text, a line for wiki).
  bool unit_open = wiki ? last != '\n' : tok.InToken();
  while (unit_open && pos < file.bytes) {
    const std::size_t n = ReadAt(f.get(), file.path, pos, buf.data(), buf.size());
    if (n == 0) break;
    std::size_t k = 0;
    while (k < n && !ends_unit(buf[k])) ++k;
    if (k < n) {
      if (wiki) ++k;  // include the newline that ends the line
      unit_open = false;
    }
    tok.Feed(buf.data(), k, sink);
    pos += static_cast<global_int_t>(k);
    stats.bytes_read += static_cast<global_int_t>(n);
    stats.text_bytes += static_cast<global_int_t>(k);
  }
  tok.Finish(sink);
  stats.n_overlong += static_cast<global_int_t>(tok.n_overlong());
  stats.n_tokens += static_cast<global_int_t>(tok.n_tokens());
}

void ReadGzipFile(const CorpusFile& file, std::vector<char>& buf, TokenSink& sink, std::size_t max_token,
                  ReadStats& stats, ProgressMeter& meter) {
  CheckUnchanged(OpenOrThrow(file.path).get(), file);
  gzFile gz = gzopen(file.path.c_str(), "rb");
  if (!gz) throw Error("cannot open gzip file '" + file.path + "': " + std::strerror(errno));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(gz, gzclose);
  gzbuffer(gz, 1 << 20);
  sink.Boundary();
  Tokenizer tok(file.format, file.path + " (uncompressed)", 0, max_token);
  for (;;) {
    const int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    int errnum = Z_OK;
    const char* message = gzerror(gz, &errnum);
    // A truncated stream ends with n == 0 and Z_BUF_ERROR ("unexpected end of file"), a damaged
    // one with n < 0: either is an error, never a short read.
    if (n < 0 || errnum != Z_OK) {
      std::string why = message && *message ? message : "read error";
      if (why.rfind(file.path + ": ", 0) == 0) why.erase(0, file.path.size() + 2);  // zlib names the file too
      throw Error("corrupt gzip file '" + file.path + "': " + why);
    }
    if (n == 0) break;
    tok.Feed(buf.data(), static_cast<std::size_t>(n), sink);
    stats.text_bytes += n;
    meter.Update(static_cast<double>(stats.bytes_read) + static_cast<double>(gzoffset(gz)));
  }
  tok.Finish(sink);
  stats.bytes_read += file.bytes;
  stats.n_overlong += static_cast<global_int_t>(tok.n_overlong());
  stats.n_tokens += static_cast<global_int_t>(tok.n_tokens());
}

}  // namespace

CorpusPlan PlanCorpus(const std::string& path, int n_ranks) {
  CorpusPlan plan;
  for (const std::string& p : ListFiles(path)) plan.files.push_back(SniffFile(p));
  for (auto& f : plan.files) {
    if (f.gzip) {
      plan.gzip_bytes += f.bytes;
    } else {
      f.offset = plan.plain_bytes;
      plan.plain_bytes += f.bytes;
    }
  }
  AssignRanges(plan, n_ranks);
  return plan;
}

std::vector<std::string> CorpusFilePaths(const CorpusPlan& plan) {
  std::vector<std::string> paths;
  for (const CorpusFile& f : plan.files) paths.push_back(f.path);
  return paths;
}

CorpusPlan DiscoverCorpus(MPI_Comm comm, const std::string& path) {
  std::string blob;
  RunAgreed(comm, [&] {
    if (CommRank(comm) == 0) blob = SerializePlan(PlanCorpus(path, CommSize(comm)));
  });
  BroadcastString(comm, blob, 0);
  return DeserializePlan(blob);
}

ReadStats ReadShard(const CorpusPlan& plan, int rank, TokenSink& sink, std::size_t max_token_bytes,
                    const ProgressLines& progress) {
  ReadStats stats;
  std::vector<char> buf(kChunkBytes);
  const global_int_t range_b = plan.range_begin[rank], range_e = plan.range_begin[rank + 1];
  double share = static_cast<double>(range_e - range_b);
  for (int i : plan.gzip_of[rank]) share += static_cast<double>(plan.files[i].bytes);
  ProgressMeter meter(progress, "read", share, "bytes");
  for (const auto& f : plan.files) {
    if (f.gzip || f.bytes == 0) continue;
    const global_int_t b = std::max(range_b, f.offset), e = std::min(range_e, f.offset + f.bytes);
    if (b >= e) continue;
    ReadPlainPiece(f, b - f.offset, e - f.offset, buf, sink, max_token_bytes, stats, meter);
  }
  sink.WholeFiles();
  for (int i : plan.gzip_of[rank]) ReadGzipFile(plan.files[i], buf, sink, max_token_bytes, stats, meter);
  return stats;
}

ReadStats ReadCorpus(MPI_Comm comm, const CorpusPlan& plan, const CorpusOptions& options, TokenSink& sink,
                     const ProgressLines& progress) {
  ReadStats local;
  RunAgreed(comm, [&] {
    local = ReadShard(plan, CommRank(comm), sink, static_cast<std::size_t>(options.max_token_bytes), progress);
  });
  global_int_t sums[4] = {local.bytes_read, local.text_bytes, local.n_tokens, local.n_overlong};
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 4, MPI_INT64_T, MPI_SUM, comm));
  const ReadStats total{sums[0], sums[1], sums[2], sums[3]};
  if (total.n_tokens == 0)
    throw Error(total.n_overlong > 0 ? "the corpus has no tokens: its " + std::to_string(total.n_overlong) +
                                           " whitespace-separated words are all longer than --max-token-bytes=" +
                                           std::to_string(options.max_token_bytes)
                                     : "the corpus has no tokens (empty or whitespace-only files)");
  return total;
}

}  // namespace qwem
