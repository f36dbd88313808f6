"""qwem: load, evaluate and compare qwem-dist results from Python.

    import sys; sys.path.insert(0, "share/python")     # or: export PYTHONPATH=$PWD/share/python
    import qwem
    run = qwem.load("qwem.h5")                          # also a word2vec .txt/.bin file
    run.words, run.embeddings, run.spectrum.eigenvalues, run.settings.window
    run.cooccurrence()                                  # scipy.sparse.csr_matrix (--save-cooccurrence)
    run.keyed_vectors()                                 # gensim KeyedVectors (needs python3-gensim)
    qwem.analogy(run, "share/questions-words.txt", method="3cosmul")
    qwem.similarity(run, "share/EN-SIMLEX-999.txt")
    qwem.most_similar(run, ["king", "woman"], negative=["man"])
    qwem.compare(qwem.load("sgd.h5"), qwem.load("closed.h5"))
    run.save_vocab("vocab.txt"); qwem.read_vocab("vocab.txt")   # word2vec's vocabulary files
    qwem.linear_representations(run, "share/questions-words.txt")  # analogy families vs d

Command line: /usr/bin/python3 -m qwem {info,evaluate,neighbors,compare} --help
Needs Debian's python3-h5py and python3-numpy; scipy for cooccurrence() and Spearman; gensim
only for keyed_vectors().
"""
from .run import Run, Spectrum, load, load_word2vec, read_vocab
from .evaluate import analogy, most_similar, read_analogies, read_similarity, similarity
from .compare import compare
from .linear import linear_representations

__all__ = ["Run", "Spectrum", "load", "load_word2vec", "read_vocab", "analogy", "most_similar", "read_analogies",
           "read_similarity", "similarity", "compare", "linear_representations"]
