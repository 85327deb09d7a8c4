"""Shared fixtures. Tests never touch the network: the Hugging Face hub is forced offline."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRUSTMAP_PROGRESS", "0")
os.environ.setdefault("TRUSTMAP_THREADS", "1")  # two pytest workers on 2 cores: one torch thread each

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Every test gets its own results store, so tests never share or pollute state."""
    monkeypatch.setenv("TRUSTMAP_STORE", str(tmp_path / "store.sqlite"))


@pytest.fixture(scope="session")
def fashion():
    from trustmap.data import load_dataset

    return load_dataset("fashion-mnist")


@pytest.fixture(scope="session")
def small_cnn(fashion):
    """A CNN-S trained for 2 epochs on 6,000 Fashion-MNIST images (about 76% test accuracy, a few seconds)."""
    from trustmap.data import stratified_indices
    from trustmap.models import ModelHandle, TrainConfig, build_model, fit
    from trustmap.models.workflows import meta_for

    torch.manual_seed(0)
    model = build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10)
    idx = stratified_indices(fashion.train.y, 6000, seed=0)
    fit(model, fashion.train.subset(idx), config=TrainConfig(epochs=2, lr=3e-3), seed=0, progress=False)
    return ModelHandle.from_module(model, meta_for(fashion, "cnn-s"))


@pytest.fixture(scope="session")
def badnets_cnn(fashion):
    """A CNN-S trained like ``small_cnn`` but on data with 10% BadNets-poisoned (a 4x4 checker patch
    bottom-right, relabelled class 3); its metadata records the poisoning (``extra["poison"]``)."""
    from trustmap.attacks.backdoor import Trigger, train_poisoned
    from trustmap.data import stratified_indices

    idx = stratified_indices(fashion.train.y, 6000, seed=0)
    return train_poisoned(
        fashion,
        trigger=Trigger("patch", size=4, position="bottom-right"),
        target=3,
        rate=0.1,
        seed=0,
        arch="cnn-s",
        train=fashion.train.subset(idx),
        epochs=2,
        lr=3e-3,
    ).handle


@pytest.fixture(scope="session")
def fashion_eval(fashion):
    """1,000 stratified Fashion-MNIST test images (100 per class)."""
    from trustmap.data import stratified_indices

    return fashion.test.subset(stratified_indices(fashion.test.y, 1000, seed=0))


def pytest_configure(config):
    np.seterr(all="ignore")
