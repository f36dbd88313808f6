// The BLAS and LAPACK routines qwem-dist calls (Fortran interfaces; OpenBLAS or the reference
// libraries, linked through pkg-config's blas and lapack).
#pragma once

extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, const int* n,
            const double* alpha, const double* a, const int* lda, double* b, const int* ldb);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
            const int* lwork, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
}

#include <string>
#include <vector>

namespace qwem {

// Not collective. The eigenvalues (ascending) of the symmetric n x n matrix a (column-major,
// upper triangle read), with its eigenvectors left in a as columns (LAPACK dsyev, workspace
// queried). Throws std::runtime_error("dsyev failed on " + what) if it fails.
std::vector<double> SymmetricEigen(std::vector<double>& a, int n, const char* what);

// Not collective: the first thing main does, before MPI starts. OpenBLAS picks its kernels for
// the CPU it recognizes; on one it does not know (this project's Xeon, family 6 model 207),
// Debian's OpenBLAS 0.3.21 falls back to its generic Prescott (SSE3) kernels, whose dense
// products are 3x slower here. Then the program starts again in place (execv: same process,
// arguments and environment) with OPENBLAS_CORETYPE set for the CPU's vector unit: SkylakeX with
// AVX-512, Haswell with AVX2 and FMA. An OPENBLAS_CORETYPE already set is always respected.
void SelectBlasKernels(char** argv);

// Not collective. "OpenBLAS 0.3.21 ... SkylakeX (OPENBLAS_CORETYPE set by qwem-dist: ...)", or
// "BLAS: not OpenBLAS".
std::string BlasDescription();

}  // namespace qwem
