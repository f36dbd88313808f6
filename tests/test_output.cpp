// The PETSc count matrix and the HDF5 file, each checked against the CSR it came from.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <petscmat.h>

#include <filesystem>

#include "qwem/h5io.hpp"
#include "qwem/results.hpp"
#include "qwem/target.hpp"
#include "test_util.hpp"

namespace {

const MPI_Comm kWorld = MPI_COMM_WORLD;

qwem::test::PipelineResult Bundled() {
  qwem::CountOptions o;
  o.window = 16;
  return qwem::test::RunPipeline(kWorld, qwem::test::ShareDir() + "/corpus", 3000, 1, o);
}

TEST(CountMatrix, RowSumsLayoutAndSymmetryMatchTheCsr) {
  const auto got = Bundled();
  qwem::OwnedMat C;
  ASSERT_EQ(
      qwem::AssembleOnPattern(
          kWorld, got.rows,
          [&](qwem::global_int_t, qwem::word_id_t, qwem::global_int_t k) { return double(got.rows.values[k]); }, &C),
      0);
  PetscInt lo, hi, M, N;
  MatGetOwnershipRange(C, &lo, &hi);
  MatGetSize(C, &M, &N);
  EXPECT_EQ(lo, got.rows.row_begin);
  EXPECT_EQ(hi, got.rows.row_end);
  EXPECT_EQ(M, got.rows.n_words);
  Vec ones, sums;
  MatCreateVecs(C, &ones, &sums);
  VecSet(ones, 1.0);
  MatMult(C, ones, sums);
  const PetscScalar* s;
  VecGetArrayRead(sums, &s);
  for (qwem::global_int_t r = 0; r < got.rows.n_local_rows(); ++r) {
    qwem::global_int_t want = 0;
    for (auto k = got.rows.row_ptr[r]; k < got.rows.row_ptr[r + 1]; ++k) want += got.rows.values[k];
    EXPECT_EQ(s[r], static_cast<double>(want)) << "row " << got.rows.row_begin + r;
  }
  VecRestoreArrayRead(sums, &s);
  // Sum of all entries is sum over pairs of 2 (L+1-j): a count identity independent of layout.
  PetscReal total;
  VecSum(sums, &total);
  EXPECT_GT(total, static_cast<double>(got.rows.n_pairs));
  PetscBool symmetric = PETSC_FALSE;
  MatIsSymmetric(C, 0.0, &symmetric);
  EXPECT_TRUE(symmetric);
  VecDestroy(&ones);
  VecDestroy(&sums);
}

std::vector<std::int64_t> ReadInt64(hid_t f, const char* path) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  std::vector<std::int64_t> v(H5Sget_simple_extent_npoints(sp));
  H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(sp);
  H5Dclose(d);
  return v;
}

TEST(Hdf5Output, VocabularyAndCsrRoundTripAndPartialFileIsRenamed) {
  const auto got = Bundled();
  qwem::test::TempDir dir(kWorld);
  const std::string path = dir.path() + "/out.h5";
  {
    qwem::h5::OutputFile out(kWorld, path);
    qwem::WriteVocabulary(out, got.vocab);
    qwem::WriteCooccurrence(out, kWorld, got.rows);
    out.Attribute("/meta", "window", qwem::global_int_t{16});
    if (qwem::CommRank(kWorld) == 0) {
      EXPECT_TRUE(std::filesystem::exists(path + ".partial"));
      EXPECT_FALSE(std::filesystem::exists(path));
    }
    out.Commit();
  }
  const auto all = qwem::test::GatherCounts(kWorld, got.rows);
  if (qwem::CommRank(kWorld) == 0) {
    EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    EXPECT_EQ(ReadInt64(f, "/vocab/counts"), got.vocab.counts);
    // Words: fixed-length, NUL-padded.
    hid_t d = H5Dopen2(f, "/vocab/words", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    const std::size_t width = H5Tget_size(t);
    std::vector<char> raw(width * got.vocab.words.size());
    H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    for (std::size_t i = 0; i < got.vocab.words.size(); ++i)
      EXPECT_EQ(std::string(raw.data() + i * width, strnlen(raw.data() + i * width, width)), got.vocab.words[i]);
    H5Tclose(t);
    H5Dclose(d);
    // CSR equals the gathered counts.
    const auto indptr = ReadInt64(f, "/cooccurrence/indptr");
    const auto data = ReadInt64(f, "/cooccurrence/data");
    hid_t di = H5Dopen2(f, "/cooccurrence/indices", H5P_DEFAULT);
    std::vector<int> indices(data.size());
    H5Dread(di, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, indices.data());
    H5Dclose(di);
    ASSERT_EQ(indptr.size(), got.vocab.words.size() + 1);
    std::map<std::pair<int, int>, std::int64_t> read;
    for (std::size_t r = 0; r + 1 < indptr.size(); ++r)
      for (auto k = indptr[r]; k < indptr[r + 1]; ++k) read[{static_cast<int>(r), indices[k]}] = data[k];
    EXPECT_TRUE(read == all);
    H5Fclose(f);
  }
}

TEST(Hdf5Output, UncommittedFileLeavesNothingBehind) {
  qwem::test::TempDir dir(kWorld);
  const std::string path = dir.path() + "/never.h5";
  {
    qwem::h5::OutputFile out(kWorld, path);
    out.Attribute("/meta", "x", qwem::global_int_t{1});
  }  // destroyed without Commit(), as on an error
  MPI_Barrier(kWorld);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
}

}  // namespace
