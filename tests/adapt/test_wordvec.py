"""Static word-vector features: the binary word2vec reader, averaging, and the shipped Bolukbasi vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.adapt.wordvec import load_word2vec, mean_vectors, read_word2vec_binary, token_embedding_average
from trustmap.errors import DataError


def _write(path, entries, dim=3):
    body = b"".join(w.encode() + b" " + np.asarray(v, np.float32).tobytes() + b"\n" for w, v in entries)
    path.write_bytes(f"{len(entries)} {dim}\n".encode() + body)


def test_reader_and_mean_known_answer(tmp_path):
    _write(tmp_path / "v.bin", [("good", [1, 0, 0]), ("film", [0, 2, 0]), ("Bad", [0, 0, 4])])
    vecs = read_word2vec_binary(tmp_path / "v.bin")
    assert vecs.dim == 3 and set(vecs.index) == {"good", "film", "Bad"}
    x = mean_vectors(["Good film!", "bad", "zzz"], vecs)  # 'Good' -> 'good' (lower-case fallback); 'bad' unknown
    assert x.tolist() == [[0.5, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    (tmp_path / "bad.bin").write_bytes(b"hello\n")
    with pytest.raises(DataError, match="header"):
        read_word2vec_binary(tmp_path / "bad.bin")
    _write(tmp_path / "cut.bin", [("a", [1, 2, 3])])
    (tmp_path / "cut.bin").write_bytes((tmp_path / "cut.bin").read_bytes()[:-6])
    with pytest.raises(DataError, match="truncated"):
        read_word2vec_binary(tmp_path / "cut.bin")


def test_shipped_vectors():
    vecs = load_word2vec()
    assert len(vecs.index) == 26423 and vecs.dim == 300 and "not" in vecs.index
    assert np.isfinite(vecs.vectors).all()


def test_token_embedding_average_skips_pads():
    from .conftest import TinyClassifier

    model = TinyClassifier()
    ids = np.array([[5, 6, 0, 0], [7, 7, 7, 7]])
    out = token_embedding_average(model, ids)
    table = model.encoder.embeddings.word_embeddings.weight.detach()
    assert np.allclose(out[0], ((table[5] + table[6]) / 2).numpy(), atol=1e-6)
    assert np.allclose(out[1], table[7].numpy(), atol=1e-6)
    assert isinstance(torch.from_numpy(out), torch.Tensor)
