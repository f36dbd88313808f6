"""Reading qwem-dist's HDF5 output (README "Output") and word2vec files into one Run object."""
import os
from types import SimpleNamespace

import numpy as np


def typed(value):
    """An HDF5 attribute as a plain Python value: str, int, float, bool or list."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [typed(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def attributes(obj):
    return {name: typed(value) for name, value in obj.attrs.items()}


def strings(dataset):
    return [typed(w) for w in dataset[()]]


class Spectrum(SimpleNamespace):
    """eigenvalues (d), eigenvectors (V x d), residuals (d), full_eigenvalues (V or None), and the
    solver's settings as typed attributes (target, ns_weight, cds, shift, operator, solver, ...)."""


class Run:
    """One qwem-dist result (or a word2vec file: then only words and embeddings).

    words        list of str, in id order (count descending, ties by byte order)
    index        dict word -> id
    counts       np.int64 array of the words' corpus counts (None for word2vec files)
    embeddings   V x d float64 array (/embeddings)
    spectrum     Spectrum, or None when the run solved no eigenpairs
    settings     every setting, typed, with attribute access: settings.window, settings.target,
                 settings.loss, ... (from /meta, /spectrum, /embeddings, /train); settings.groups
                 keeps them apart ({"meta": {...}, "train": {...}, ...})
    corpus       /corpus attributes (token, word and pair totals) and files
    eval         the run's own evaluation (/eval): analogy_standard, analogy_pairs, similarity
    training     /train's series as arrays (step, tau, loss, singular_values, theory_singular_values,
                 overlap, ...), or None
    """

    def __init__(self, path, words, embeddings, counts=None, spectrum=None, groups=None, corpus=None,
                 evaluation=None, training=None, kind="hdf5"):
        self.path = path
        self.kind = kind
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.embeddings = embeddings
        self.counts = counts
        self.spectrum = spectrum
        self.corpus = corpus or {}
        self.eval = evaluation or {}
        self.training = training
        groups = groups or {}
        flat = {}
        for group in ("meta", "embeddings", "spectrum", "train"):
            for name, value in groups.get(group, {}).items():
                flat.setdefault(name, value)
        self.settings = SimpleNamespace(groups=groups, **flat)

    def __repr__(self):
        d = self.embeddings.shape[1] if self.embeddings is not None else 0
        return f"Run({self.path!r}, V={len(self.words)}, d={d})"

    def vectors(self, kind="w"):
        """The embeddings (kind "w", /embeddings), the output vectors C ("c", /train/state/C) or
        their sum ("w+c", hyperwords' w+c) of a run trained with separate output vectors."""
        if kind == "w":
            return self.embeddings
        import h5py
        with h5py.File(self.path, "r") as f:
            if "train/state/C" not in f:
                raise ValueError(f"{self.path} has no output vectors (/train/state/C): train with --sampling windows")
            C = f["train/state/C"][()]
            W = f["train/state/W"][()]
        if kind == "c":
            return C
        if kind == "w+c":
            return W + C
        raise ValueError(f"unknown kind {kind!r} (expected w, c or w+c)")

    def cooccurrence(self):
        """The counts C as scipy.sparse.csr_matrix (V x V, int64), or None without
        --save-cooccurrence."""
        import h5py
        import scipy.sparse
        with h5py.File(self.path, "r") as f:
            if "cooccurrence" not in f:
                return None
            g = f["cooccurrence"]
            n = int(g.attrs["n_rows"])
            return scipy.sparse.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=(n, n))

    def checkpoints(self):
        """[(step, W)] of /train/checkpoints, in step order."""
        import h5py
        with h5py.File(self.path, "r") as f:
            if "train/checkpoints/step" not in f:
                return []
            return [(int(s), f[f"train/checkpoints/W_{int(s):012d}"][()]) for s in f["train/checkpoints/step"][()]]

    def save_vocab(self, path):
        """The vocabulary as word2vec's -save-vocab writes it ("word count" lines, id order), which
        qwem-dist --read-vocab and word2vec -read-vocab read."""
        if self.counts is None:
            raise ValueError(f"{self.path} has no word counts (a word2vec file)")
        with open(path, "w", encoding="utf-8") as f:
            for w, c in zip(self.words, self.counts):
                f.write(f"{w} {int(c)}\n")

    def keyed_vectors(self, kind="w"):
        """The embeddings as gensim.models.KeyedVectors (needs python3-gensim)."""
        try:
            from gensim.models import KeyedVectors
        except ImportError as e:
            raise ImportError("keyed_vectors() needs gensim (Debian: apt-get install python3-gensim)") from e
        vectors = self.vectors(kind)
        kv = KeyedVectors(vectors.shape[1])
        kv.add_vectors(self.words, vectors.astype(np.float32))
        if self.counts is not None:
            for w, c in zip(self.words, self.counts):
                kv.set_vecattr(w, "count", int(c))
        return kv


def load(path):
    """A qwem-dist HDF5 file, or a word2vec file (text, or binary if it is not text)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic != b"\x89HDF\r\n\x1a\n":
        return load_word2vec(path)
    import h5py
    with h5py.File(path, "r") as f:
        words = strings(f["vocab/words"])
        counts = f["vocab/counts"][()]
        embeddings = f["embeddings"][()] if "embeddings" in f else None
        groups = {g: attributes(f[g]) for g in ("meta", "embeddings", "spectrum", "train", "corpus") if g in f}
        spectrum = None
        if "spectrum" in f:
            s = f["spectrum"]
            spectrum = Spectrum(eigenvalues=s["eigenvalues"][()], eigenvectors=s["eigenvectors"][()],
                                residuals=s["residuals"][()],
                                full_eigenvalues=s["full_eigenvalues"][()] if "full_eigenvalues" in s else None,
                                **attributes(s))
        corpus = dict(groups.pop("corpus", {}))
        if "corpus/files" in f:
            corpus["files"] = strings(f["corpus/files"])
            corpus["file_bytes"] = f["corpus/file_bytes"][()]
        evaluation = {}
        if "eval" in f:
            for name in ("analogy_standard", "analogy_pairs"):
                if name in f["eval"]:
                    evaluation[name] = attributes(f["eval"][name])
            if "similarity" in f["eval"]:
                evaluation["similarity"] = {k: attributes(v) for k, v in f["eval/similarity"].items()}
            if "sections" in f["eval"]:
                sec = f["eval/sections"]
                evaluation["sections"] = {k: (strings(v) if k == "name" else v[()]) for k, v in sec.items()}
        training = None
        if "train" in f:
            training = {k: v[()] for k, v in f["train"].items() if hasattr(v, "shape")}
    return Run(path, words, embeddings, counts, spectrum, groups, corpus, evaluation, training)


def load_word2vec(path):
    """A word2vec file ("V d" header, then "word x1 .. xd" lines, or binary float32 after "word ")."""
    with open(path, "rb") as f:
        header = f.readline().split()
        if len(header) != 2:
            raise ValueError(f"{path}: not a word2vec file (expected a 'V d' header line)")
        V, d = int(header[0]), int(header[1])
        body = f.read()
    words, rows = [], np.empty((V, d))
    try:  # text: every line "word x1 .. xd"
        lines = body.decode("utf-8").splitlines()
        if len(lines) != V or len(lines[0].split()) != d + 1:
            raise ValueError
        for i, line in enumerate(lines):
            fields = line.split(" ")
            words.append(fields[0])
            rows[i] = np.array(fields[1:d + 1], dtype=np.float64)
    except (UnicodeDecodeError, ValueError):
        words, pos = [], 0
        for i in range(V):
            end = body.index(b" ", pos)
            words.append(body[pos:end].decode("utf-8").lstrip("\n"))
            rows[i] = np.frombuffer(body, dtype=np.float32, count=d, offset=end + 1)
            pos = end + 1 + 4 * d
    return Run(path, words, rows, kind="word2vec")


def read_vocab(path):
    """A vocabulary file ("word count" lines; word2vec's "</s>" entry skipped) as [(word, count)]."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not fields[1].isdigit():
                raise ValueError(f"{path} line {number}: expected 'word count'")
            if fields[0] != "</s>":
                out.append((fields[0], int(fields[1])))
    return out
