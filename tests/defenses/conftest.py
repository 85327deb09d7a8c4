"""Tiny data and models for the defences' mechanics tests (seconds, not minutes)."""

import pytest
import torch


@pytest.fixture(scope="session")
def tiny(fashion):
    """300 stratified Fashion-MNIST training images (30 per class)."""
    from trustmap.data import stratified_indices

    return fashion.train.subset(stratified_indices(fashion.train.y, 300, seed=0))


@pytest.fixture
def logreg():
    from trustmap.models import build_model

    torch.manual_seed(0)
    return build_model("logreg", input_shape=(1, 28, 28), num_classes=10)
