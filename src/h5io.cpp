#include "qwem/h5io.hpp"

#include <sys/statvfs.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace qwem::h5 {
namespace {

namespace fs = std::filesystem;

// The innermost message of HDF5's error stack (for MPI-IO failures, the MPI error string, such
// as "No space left on device"), read right after a failed call.
std::string ErrorStackText() {
  std::string innermost;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        if (e->desc && *e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &innermost);
  H5Eclear2(H5E_DEFAULT);
  for (char& ch : innermost)
    if (ch == '\n') ch = ' ';
  return innermost;
}

void Check(herr_t rc, const std::string& what) {
  if (rc < 0) throw std::runtime_error(what + " failed: " + ErrorStackText());
}

Handle Checked(hid_t id, herr_t (*close)(hid_t), const std::string& what) {
  if (id < 0) throw std::runtime_error(what + " failed: " + ErrorStackText());
  return Handle(id, close);
}

// Files left open after a failed write (see ~OutputFile).
int g_broken_files = 0;

double FreeBytes(const std::string& path) {
  struct statvfs s {};
  const fs::path parent = fs::path(path).parent_path();
  if (statvfs(parent.empty() ? "." : parent.c_str(), &s) != 0) return -1;
  return static_cast<double>(s.f_bavail) * static_cast<double>(s.f_frsize);
}

// "; 12 KiB free on its file system", when the folder of path is nearly full (the likely cause).
std::string FreeSpaceNote(const std::string& path) {
  const double free_bytes = FreeBytes(path);
  if (free_bytes < 0 || free_bytes > 64.0 * 1024 * 1024) return "";
  char note[96];
  std::snprintf(note, sizeof note, "; no space left on the device? %.0f KiB free on its file system",
                free_bytes / 1024);
  return note;
}

// Property lists: intermediate groups on create, collective data transfers.
Handle LinkCreateProps() {
  Handle lcpl = Checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "H5Pcreate");
  Check(H5Pset_create_intermediate_group(lcpl.id(), 1), "H5Pset_create_intermediate_group");
  return lcpl;
}

Handle CollectiveTransfer() {
  Handle dxpl = Checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "H5Pcreate");
  Check(H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return dxpl;
}

// A fixed-length UTF-8 string type of `size` bytes.
Handle StringType(std::size_t size, H5T_str_t pad) {
  Handle type = Checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  Check(H5Tset_size(type.id(), size), "H5Tset_size");
  Check(H5Tset_strpad(type.id(), pad), "H5Tset_strpad");
  Check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

std::string Parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

template <>
hid_t NativeType<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t NativeType<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t NativeType<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t NativeType<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t NativeType<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t NativeType<char>() {
  return H5T_NATIVE_CHAR;
}

bool OpenBrokenFiles() { return g_broken_files > 0; }

OutputFile::OutputFile(MPI_Comm comm, const std::string& path, double expected_bytes)
    : comm_(comm), path_(path), partial_(path + ".partial") {
  // Room for the file first: a disk that fills during the write breaks it (see ~OutputFile).
  // QWEM_NO_SPACE_CHECK=1 skips this, for the tests of that failure.
  if (expected_bytes > 0 && !std::getenv("QWEM_NO_SPACE_CHECK")) {
    const double free_bytes = CommRank(comm) == 0 ? FreeBytes(partial_) : 0;
    char text[160];
    std::snprintf(text, sizeof text, "about %.1f MiB are needed, %.1f MiB are free", expected_bytes / 1048576,
                  free_bytes / 1048576);
    AgreeOrThrow(comm, CommRank(comm) != 0 || free_bytes < 0 || free_bytes >= expected_bytes,
                 "not enough space for '" + path_ + "': " + text);
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions, not stack dumps
  Handle fapl = Checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  Check(H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  Check(H5Pset_all_coll_metadata_ops(fapl.id(), 1), "H5Pset_all_coll_metadata_ops");
  Check(H5Pset_coll_metadata_write(fapl.id(), 1), "H5Pset_coll_metadata_write");
  const hid_t f = H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
  const std::string why = f < 0 ? ErrorStackText() + FreeSpaceNote(partial_) : "";
  try {
    AgreeOrThrow(comm, f >= 0, "cannot create output file '" + partial_ + "': " + why);
  } catch (const Error&) {
    // A rank whose create succeeded leaves its handle open: closing is collective, and the
    // others have nothing to close.
    if (CommRank(comm) == 0) std::remove(partial_.c_str());
    throw;
  }
  file_ = Handle(f, H5Fclose);
}

OutputFile::~OutputFile() {
  if (committed_) return;
  if (broken_) {
    // After a failed write (a full disk) the ranks' HDF5 states differ, and a collective close
    // waits forever (seen with Open MPI's OMPIO: one rank truncating, the other flushing). The
    // handle is left open, and the process must end without MPI_Finalize, which would close it
    // (HDF5 closes its files from an MPI_COMM_SELF attribute): see OpenBrokenFiles.
    file_.release();
    ++g_broken_files;
  } else {
    file_.Reset();
  }
  if (CommRank(comm_) == 0) std::remove(partial_.c_str());
}

template <class Fn>
void OutputFile::Agreed(const std::string& what, Fn&& fn) {
  try {
    RunAgreed(comm_, [&] {
      try {
        fn();
      } catch (const std::exception& e) {
        throw std::runtime_error("cannot write '" + partial_ + "' (" + what + "): " + e.what() +
                                 FreeSpaceNote(partial_));
      }
    });
  } catch (const Error&) {
    broken_ = true;
    throw;
  }
}

void OutputFile::Commit() {
  Agreed("flush", [&] { Check(H5Fflush(file_.id(), H5F_SCOPE_GLOBAL), "H5Fflush"); });
  Agreed("close", [&] { Check(H5Fclose(file_.release()), "H5Fclose"); });  // collective
  int ok = 1;
  if (CommRank(comm_) == 0) ok = std::rename(partial_.c_str(), path_.c_str()) == 0 ? 1 : 0;
  QWEM_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm_));
  if (!ok) throw Error("cannot rename '" + partial_ + "' to '" + path_ + "'");
  committed_ = true;
}

Handle OutputFile::OpenOrCreateGroup(const std::string& path) {
  if (path == "/") return Checked(H5Gopen2(file_.id(), "/", H5P_DEFAULT), H5Gclose, "H5Gopen /");
  if (H5Lexists(file_.id(), path.c_str(), H5P_DEFAULT) > 0)
    return Checked(H5Oopen(file_.id(), path.c_str(), H5P_DEFAULT), H5Oclose, "H5Oopen " + path);
  Handle lcpl = LinkCreateProps();
  return Checked(H5Gcreate2(file_.id(), path.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                 "H5Gcreate " + path);
}

void OutputFile::ScalarAttribute(const std::string& object, const std::string& name, hid_t file_type, hid_t memory_type,
                                 const void* value) {
  Agreed(object + "@" + name, [&] {
    Handle obj = OpenOrCreateGroup(object);
    Handle space = Checked(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
    Handle attr = Checked(H5Acreate2(obj.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                          "H5Acreate " + name);
    Check(H5Awrite(attr.id(), memory_type, value), "H5Awrite " + name);
  });
}

void OutputFile::Attribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle type = StringType(value.size() + 1, H5T_STR_NULLTERM);
  ScalarAttribute(object, name, type.id(), type.id(), value.c_str());
}

void OutputFile::Attribute(const std::string& object, const std::string& name, global_int_t value) {
  ScalarAttribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void OutputFile::Attribute(const std::string& object, const std::string& name, double value) {
  ScalarAttribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void OutputFile::WriteRows(const std::string& path, hid_t type, const void* local, global_int_t n_local_rows,
                           global_int_t row_offset, global_int_t n_global_rows, global_int_t n_cols) {
  Agreed(path, [&] { WriteRowsHere(path, type, local, n_local_rows, row_offset, n_global_rows, n_cols); });
}

void OutputFile::WriteRowsHere(const std::string& path, hid_t type, const void* local, global_int_t n_local_rows,
                               global_int_t row_offset, global_int_t n_global_rows, global_int_t n_cols) {
  OpenOrCreateGroup(Parent(path));
  const int rank = n_cols == 1 ? 1 : 2;
  const hsize_t dims[2] = {static_cast<hsize_t>(n_global_rows), static_cast<hsize_t>(n_cols)};
  Handle space = Checked(H5Screate_simple(rank, dims, nullptr), H5Sclose, "H5Screate_simple");
  Handle dset = Checked(H5Dcreate2(file_.id(), path.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        H5Dclose, "H5Dcreate " + path);
  if (n_global_rows == 0) return;  // an empty dataset: nothing to transfer (the same on every rank)
  const hsize_t start[2] = {static_cast<hsize_t>(row_offset), 0};
  const hsize_t count[2] = {static_cast<hsize_t>(n_local_rows), static_cast<hsize_t>(n_cols)};
  if (n_local_rows > 0)
    Check(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start, nullptr, count, nullptr), "H5Sselect");
  else
    Check(H5Sselect_none(space.id()), "H5Sselect_none");
  Handle mem = Checked(H5Screate_simple(rank, count, nullptr), H5Sclose, "H5Screate_simple");
  if (n_local_rows == 0) Check(H5Sselect_none(mem.id()), "H5Sselect_none");
  Handle dxpl = CollectiveTransfer();
  Check(H5Dwrite(dset.id(), type, mem.id(), space.id(), dxpl.id(), local), "H5Dwrite " + path);
}

void OutputFile::WriteStrings(const std::string& path, const std::vector<std::string>& strings) {
  std::size_t width = 1;
  for (const auto& s : strings) width = std::max(width, s.size());
  std::vector<char> packed(strings.size() * width, '\0');
  for (std::size_t i = 0; i < strings.size(); ++i)
    std::copy(strings[i].begin(), strings[i].end(), packed.begin() + i * width);
  const bool root = CommRank(comm_) == 0;
  Agreed(path, [&] {
    Handle type = StringType(width, H5T_STR_NULLPAD);
    WriteRowsHere(path, type.id(), root ? packed.data() : nullptr, root ? static_cast<global_int_t>(strings.size()) : 0,
                  0, static_cast<global_int_t>(strings.size()), 1);
  });
}

InputFile::InputFile(const std::string& path) : path_(path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (H5Fis_hdf5(path.c_str()) <= 0) Fail("not a readable HDF5 file");
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) Fail("cannot be opened (corrupt or truncated?)");
  file_ = Handle(f, H5Fclose);
}

void InputFile::Fail(const std::string& what) const { throw Error("'" + path_ + "': " + what); }

bool InputFile::HasAttribute(const std::string& object, const std::string& name) const {
  return Exists(object) && H5Aexists_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

bool InputFile::Exists(const std::string& object) const {
  // Every prefix must exist before H5Lexists may be asked about the next component.
  std::size_t at = 1;
  while (at <= object.size()) {
    const std::size_t next = object.find('/', at);
    const std::string prefix = object.substr(0, next);
    if (H5Lexists(file_.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return true;
}

namespace {
Handle OpenAttribute(hid_t file, const std::string& object, const std::string& name) {
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return Handle();
  return Handle(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
}
}  // namespace

std::string InputFile::StringAttribute(const std::string& object, const std::string& name) const {
  if (!Exists(object)) Fail("has no " + object);
  Handle attr = OpenAttribute(file_.id(), object, name);
  if (attr.id() < 0) Fail("has no attribute " + object + "@" + name);
  Handle type = Handle(H5Aget_type(attr.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) > 0)
    Fail(object + "@" + name + " is not a fixed-length string");
  std::string value(H5Tget_size(type.id()), '\0');
  if (H5Aread(attr.id(), type.id(), value.data()) < 0) Fail("cannot read " + object + "@" + name);
  value.resize(std::strlen(value.c_str()));
  return value;
}

void InputFile::ReadScalarAttribute(const std::string& object, const std::string& name, hid_t type, void* value,
                                    const char* kind) const {
  if (!Exists(object)) Fail("has no " + object);
  Handle attr = OpenAttribute(file_.id(), object, name);
  if (attr.id() < 0 || H5Aread(attr.id(), type, value) < 0)
    Fail("has no " + std::string(kind) + " " + object + "@" + name);
}

std::string InputFile::AttributeText(const std::string& object, const std::string& name) const {
  if (!Exists(object)) Fail("has no " + object);
  Handle attr = OpenAttribute(file_.id(), object, name);
  if (attr.id() < 0) Fail("has no attribute " + object + "@" + name);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  switch (H5Tget_class(type.id())) {
    case H5T_STRING:
      return StringAttribute(object, name);
    case H5T_INTEGER:
      return std::to_string(IntAttribute(object, name));
    case H5T_FLOAT: {
      char text[64];
      std::snprintf(text, sizeof text, "%.17g", DoubleAttribute(object, name));
      return text;
    }
    default:
      Fail(object + "@" + name + " is neither text nor a number");
  }
}

global_int_t InputFile::IntAttribute(const std::string& object, const std::string& name) const {
  global_int_t v = 0;
  ReadScalarAttribute(object, name, H5T_NATIVE_INT64, &v, "integer");
  return v;
}

double InputFile::DoubleAttribute(const std::string& object, const std::string& name) const {
  double v = 0;
  ReadScalarAttribute(object, name, H5T_NATIVE_DOUBLE, &v, "number");
  return v;
}

std::vector<global_int_t> InputFile::Shape(const std::string& path) const {
  if (!Exists(path)) Fail("has no dataset " + path);
  Handle dset(H5Dopen2(file_.id(), path.c_str(), H5P_DEFAULT), H5Dclose);
  if (dset.id() < 0) Fail(path + " is not a dataset");
  Handle space(H5Dget_space(dset.id()), H5Sclose);
  hsize_t dims[8] = {0};
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0 || rank > 8) Fail("cannot read the shape of " + path);
  H5Sget_simple_extent_dims(space.id(), dims, nullptr);
  return std::vector<global_int_t>(dims, dims + rank);
}

void InputFile::ReadRows(const std::string& path, hid_t type, void* out, global_int_t row_offset,
                         global_int_t n_rows) const {
  const std::vector<global_int_t> shape = Shape(path);
  if (shape.empty() || shape.size() > 2 || row_offset < 0 || n_rows < 0 || row_offset + n_rows > shape[0])
    Fail("rows " + std::to_string(row_offset) + ".." + std::to_string(row_offset + n_rows) + " of " + path +
         " are out of range");
  Handle dset(H5Dopen2(file_.id(), path.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(dset.id()), H5Sclose);
  const int rank = static_cast<int>(shape.size());
  const hsize_t start[2] = {static_cast<hsize_t>(row_offset), 0};
  const hsize_t count[2] = {static_cast<hsize_t>(n_rows), rank > 1 ? static_cast<hsize_t>(shape[1]) : 1};
  if (n_rows == 0) return;
  Check(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start, nullptr, count, nullptr), "H5Sselect");
  Handle mem(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Dread(dset.id(), type, mem.id(), space.id(), H5P_DEFAULT, out) < 0) Fail("cannot read " + path);
}

std::vector<std::string> InputFile::ReadStrings(const std::string& path) const {
  const std::vector<global_int_t> shape = Shape(path);
  Handle dset(H5Dopen2(file_.id(), path.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(dset.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) > 0 || shape.size() != 1)
    Fail(path + " is not a fixed-length string list");
  const std::size_t width = H5Tget_size(type.id());
  std::vector<char> buf(width * shape[0] + 1, '\0');
  if (shape[0] > 0 && H5Dread(dset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    Fail("cannot read " + path);
  std::vector<std::string> out(shape[0]);
  for (global_int_t i = 0; i < shape[0]; ++i) {
    const char* b = buf.data() + i * width;
    out[i].assign(b, strnlen(b, width));
  }
  return out;
}

std::string LibraryVersion() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel);
}

}  // namespace qwem::h5
