// Thin owners of PETSc/SLEPc objects: move-only, destroyed when they go out of scope (also when
// an exception passes), and converted implicitly to the raw handle, so the PETSc API is called
// as it is documented: MatMult(A, x, y), MatCreate(comm, A.out()).
#pragma once

#include <petscmat.h>
#include <petscvec.h>
#include <slepceps.h>

#include <utility>

namespace qwem {

template <class T, PetscErrorCode (*Destroy)(T*)>
class PetscHandle {
 public:
  PetscHandle() = default;
  explicit PetscHandle(T object) : object_(object) {}
  PetscHandle(PetscHandle&& o) noexcept : object_(std::exchange(o.object_, nullptr)) {}
  PetscHandle& operator=(PetscHandle&& o) noexcept {
    if (this != &o) {
      reset();
      object_ = std::exchange(o.object_, nullptr);
    }
    return *this;
  }
  PetscHandle(const PetscHandle&) = delete;
  PetscHandle& operator=(const PetscHandle&) = delete;
  ~PetscHandle() { reset(); }

  operator T() const { return object_; }
  T get() const { return object_; }
  // For PETSc's create functions: releases what is held and returns where to put the new object.
  T* out() {
    reset();
    return &object_;
  }
  // For PETSc calls that may reuse the object in place (MatMatMult with MAT_REUSE_MATRIX).
  T* inout() { return &object_; }
  // Gives up ownership (for a caller that takes over the reference).
  T release() { return std::exchange(object_, nullptr); }
  // Destroys the object (a destroy error is ignored: destructors never throw).
  void reset() {
    if (object_) Destroy(&object_);
    object_ = nullptr;
  }

 private:
  T object_ = nullptr;
};

using OwnedMat = PetscHandle<Mat, MatDestroy>;
using OwnedVec = PetscHandle<Vec, VecDestroy>;
using OwnedEps = PetscHandle<EPS, EPSDestroy>;

}  // namespace qwem
