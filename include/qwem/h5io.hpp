// Parallel HDF5 output on the C API (HighFive's ideas, not its code): every rank creates the
// same objects and attributes; each rank writes its own hyperslab with collective transfers;
// metadata operations are collective. The file is written under a temporary name
// ("FILE.partial") and renamed only by Commit(), so a failed run leaves no file that looks like
// a result. Text is UTF-8 and labelled so (h5py's .asstr() decodes it); string attributes are
// NUL-terminated, so an empty one reads as "".
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "qwem/common.hpp"

namespace qwem::h5 {

// Thin move-only owner of an hid_t; the destructor never throws.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      Reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { Reset(); }
  hid_t id() const { return id_; }
  // Gives up ownership (for a close whose result the caller checks).
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  void Reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

template <class T>
hid_t NativeType();

// A parallel HDF5 output file being written.
class OutputFile {
 public:
  // Collective. Creates FILE.partial (truncating) with the MPI-IO driver, after checking (rank 0,
  // agreed) that its file system has expected_bytes free (0: no check).
  OutputFile(MPI_Comm comm, const std::string& path, double expected_bytes = 0);
  // Collective when not committed: closes and removes the partial file (after a failed write the
  // file is only removed: closing it can hang).
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Collective. Flushes and closes the file (each agreed) and renames FILE.partial to FILE.
  void Commit();

  // Collective, same arguments on every rank. Attributes on an object (group created if missing).
  void Attribute(const std::string& object, const std::string& name, const std::string& value);
  void Attribute(const std::string& object, const std::string& name, global_int_t value);
  void Attribute(const std::string& object, const std::string& name, double value);

  // Collective, same data on every rank: a dataset rank 0 writes (others write nothing), of
  // data.size() / n_cols rows (n_cols = 1: a 1-D dataset).
  template <class T>
  void WriteReplicated(const std::string& path, const std::vector<T>& data, global_int_t n_cols = 1) {
    const bool root = CommRank(comm_) == 0;
    const auto n_rows = static_cast<global_int_t>(data.size()) / n_cols;
    WriteRows(path, NativeType<T>(), root ? data.data() : nullptr, root ? n_rows : 0, 0, n_rows, n_cols);
  }
  // Collective, same data on every rank: fixed-length, NUL-padded strings (parallel HDF5 1.10
  // cannot write variable-length data through MPI-IO); h5py reads them as bytes.
  void WriteStrings(const std::string& path, const std::vector<std::string>& strings);

  // Collective. Rank-local rows [row_offset, row_offset + n_local_rows) of a dataset of
  // n_global_rows x n_cols (n_cols = 1: a 1-D dataset), written with one collective transfer.
  template <class T>
  void WriteDistributed(const std::string& path, const T* local, global_int_t n_local_rows, global_int_t row_offset,
                        global_int_t n_global_rows, global_int_t n_cols = 1) {
    WriteRows(path, NativeType<T>(), local, n_local_rows, row_offset, n_global_rows, n_cols);
  }

  const std::string& path() const { return path_; }
  int rank() const { return CommRank(comm_); }

 private:
  // Collective, agreed: every rank learns of a failure on any rank (a full disk), as qwem::Error
  // naming the file, the object and the cause; the file is then broken (closed with care).
  template <class Fn>
  void Agreed(const std::string& what, Fn&& fn);
  void WriteRows(const std::string& path, hid_t type, const void* local, global_int_t n_local_rows,
                 global_int_t row_offset, global_int_t n_global_rows, global_int_t n_cols);
  // The local part of WriteRows, not agreed.
  void WriteRowsHere(const std::string& path, hid_t type, const void* local, global_int_t n_local_rows,
                     global_int_t row_offset, global_int_t n_global_rows, global_int_t n_cols);
  Handle OpenOrCreateGroup(const std::string& path);
  void ScalarAttribute(const std::string& object, const std::string& name, hid_t file_type, hid_t memory_type,
                       const void* value);

  MPI_Comm comm_;
  std::string path_, partial_;
  Handle file_;
  bool committed_ = false;
  bool broken_ = false;  // a write failed: the file is only closed and removed
};

// An existing HDF5 file opened read-only by one rank (the default POSIX driver: every rank
// that needs data opens the file itself). Failures throw qwem::Error naming the file and object,
// so a corrupt or foreign file gives a clear message.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  bool Exists(const std::string& object) const;
  bool HasAttribute(const std::string& object, const std::string& name) const;
  std::string StringAttribute(const std::string& object, const std::string& name) const;
  global_int_t IntAttribute(const std::string& object, const std::string& name) const;
  double DoubleAttribute(const std::string& object, const std::string& name) const;
  // An attribute as text: a string as it is, an integer in decimal, a float as %.17g (so a
  // setting stored as a number compares with the same setting stored as text).
  std::string AttributeText(const std::string& object, const std::string& name) const;
  // Dimensions of a dataset.
  std::vector<global_int_t> Shape(const std::string& path) const;
  // Rows [row_offset, row_offset + n_rows) of a 1-D or 2-D dataset (all columns), row-major;
  // n_rows < 0: every row.
  template <class T>
  std::vector<T> Read(const std::string& path, global_int_t row_offset = 0, global_int_t n_rows = -1) const {
    const std::vector<global_int_t> shape = Shape(path);
    const global_int_t cols = shape.size() > 1 ? shape[1] : 1;
    if (n_rows < 0) n_rows = shape.empty() ? 0 : shape[0] - row_offset;
    std::vector<T> out(static_cast<std::size_t>(n_rows * cols));
    ReadRows(path, NativeType<T>(), out.data(), row_offset, n_rows);
    return out;
  }
  // Fixed-length string dataset (as WriteStrings writes it).
  std::vector<std::string> ReadStrings(const std::string& path) const;
  const std::string& path() const { return path_; }

 private:
  void ReadRows(const std::string& path, hid_t type, void* out, global_int_t row_offset, global_int_t n_rows) const;
  // One scalar attribute as the native type; Fail("has no <kind> object@name") if absent or unreadable.
  void ReadScalarAttribute(const std::string& object, const std::string& name, hid_t type, void* value,
                           const char* kind) const;
  [[noreturn]] void Fail(const std::string& what) const;
  std::string path_;
  Handle file_;
};

// Not collective. Whether a file was left open after a failed write: the process must then end
// without MPI_Finalize (main() does), since finalizing would close it collectively and hang.
bool OpenBrokenFiles();

// HDF5 library version, "1.10.8".
std::string LibraryVersion();

}  // namespace qwem::h5
