#!/usr/bin/python3
"""Compare two qwem-dist HDF5 outputs object by object: are they the same result?

Usage: compare_outputs.py BEFORE.h5 AFTER.h5

Every group, dataset and attribute of both files is compared. Integers and strings must be equal;
floating-point data must be bit-identical unless listed in TOLERANCE (relative to the largest
magnitude of the dataset). Provenance that differs from run to run by nature (clock, wall times,
the command line) is skipped. A string attribute in one file and a number in the other compare by
value (the /train settings were stored as text before they were stored as numbers). Prints one
line per difference and a summary; exit status 1 if the results differ.
"""
import sys

import h5py
import numpy as np

# Run-to-run provenance and timings: not results.
SKIP_OBJECTS = {"/timings"}
SKIP_ATTRIBUTES = {
    "/meta": {"timestamp", "command_line", "host_rank0"},
    "/train": {"train_seconds", "updates_per_second_per_rank"},
    "/spectrum": {"operator_sparse_seconds", "operator_dense_seconds"},
}
SKIP_DATASETS = {"/train/seconds"}
# Attributes that may be absent after, and why (changes of the output that are intended).
MAY_BE_ABSENT_AFTER = {
    ("/spectrum", "operator"): "no operator is built when the eigenpairs are loaded (--eigen-from)",
    ("/spectrum", "operator_requested"): "no operator is built when the eigenpairs are loaded (--eigen-from)",
}
# Relative tolerances: quantities computed in a different but equivalent order.
TOLERANCE = {
    "/train/loss": 1e-12,  # ||M*||_F^2 for gd: summed from the counts instead of the sparse matrix
}


def as_value(v):
    """Attribute or dataset value as a Python/numpy value; bytes decoded."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.dtype.kind == "S":
        return np.array([x.decode("utf-8") for x in v.ravel()]).reshape(v.shape)
    if isinstance(v, np.generic):
        return v.item()
    return v


def same(a, b, tol):
    a, b = as_value(a), as_value(b)
    if isinstance(a, str) != isinstance(b, str):  # text "0.050000000000000003" against 0.05
        s, n = (a, b) if isinstance(a, str) else (b, a)
        try:
            return float(s) == float(n), "text %r vs number %r" % (s, n)
        except ValueError:
            return False, "text %r vs %r" % (s, n)
    if isinstance(a, str) or isinstance(b, str):
        return a == b, "%r vs %r" % (a, b)
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, "shape %s vs %s" % (a.shape, b.shape)
    if a.dtype.kind in "US" or b.dtype.kind in "US":
        return bool(np.array_equal(a, b)), "strings differ"
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        nan_a, nan_b = np.isnan(a64), np.isnan(b64)
        if not np.array_equal(nan_a, nan_b):
            return False, "NaNs at different places"
        diff = np.abs(np.where(nan_a, 0, a64 - b64))
        scale = max(np.abs(np.where(nan_a, 0, a64)).max(initial=0), 1e-300)
        rel = diff.max(initial=0) / scale
        return rel <= tol, "max relative difference %.3g (allowed %.3g)" % (rel, tol)
    return bool(np.array_equal(a, b)), "%d of %d entries differ" % (int((a != b).sum()), a.size)


def objects(f):
    found = {}
    f.visititems(lambda name, obj: found.__setitem__("/" + name, obj))
    found["/"] = f["/"]
    return found


def main(before_path, after_path):
    before, after = h5py.File(before_path, "r"), h5py.File(after_path, "r")
    a, b = objects(before), objects(after)
    problems, checked = [], 0

    def skipped(path):
        return any(path == s or path.startswith(s + "/") for s in SKIP_OBJECTS)

    for path in sorted(set(a) | set(b)):
        if skipped(path):
            continue
        if path not in a or path not in b:
            problems.append("%s: only in %s" % (path, "after" if path not in a else "before"))
            continue
        x, y = a[path], b[path]
        names = set(x.attrs) | set(y.attrs)
        for name in sorted(names - SKIP_ATTRIBUTES.get(path, set())):
            if name in x.attrs and name not in y.attrs and (path, name) in MAY_BE_ABSENT_AFTER:
                print("  intended: %s@%s absent: %s" % (path, name, MAY_BE_ABSENT_AFTER[(path, name)]))
                continue
            if name not in x.attrs or name not in y.attrs:
                problems.append("%s@%s: only in %s" % (path, name, "after" if name not in x.attrs else "before"))
                continue
            ok, why = same(x.attrs[name], y.attrs[name], 0.0)
            checked += 1
            if not ok:
                problems.append("%s@%s: %s" % (path, name, why))
        if isinstance(x, h5py.Dataset) and path not in SKIP_DATASETS:
            if not isinstance(y, h5py.Dataset):
                problems.append("%s: dataset before, group after" % path)
                continue
            ok, why = same(x[()], y[()], TOLERANCE.get(path, 0.0))
            checked += 1
            if not ok:
                problems.append("%s: %s" % (path, why))
    for p in problems:
        print("  differs: " + p)
    print("%s: %d values compared, %d differ" % (after_path, checked, len(problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
