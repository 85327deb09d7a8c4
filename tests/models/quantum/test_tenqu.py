"""co-TenQu parts: unit-norm class states, angle ranges, gradients reaching the MPS and the circuits."""

from __future__ import annotations

import numpy as np
import torch

from trustmap.models.quantum import ClassStates, PCAQuantum, TenQu


def test_class_states_are_normalised_and_distinct():
    torch.manual_seed(0)
    states = ClassStates(classes=3, qubits=4)()
    assert states.shape == (3, 16) and torch.allclose(states.abs().pow(2).sum(1), torch.ones(3), atol=1e-5)
    assert (states[0] - states[1]).abs().max() > 1e-3


def test_tenqu_fidelities_are_probabilities_and_both_halves_get_gradients():
    torch.manual_seed(0)
    model = TenQu(pixels=16, classes=4)
    x = torch.rand(8, 16)
    angles = model.encoder(x)
    assert angles.shape == (8, 8) and (angles > 0).all() and (angles < torch.pi).all()
    f = model.classifier.fidelities(angles)
    assert f.shape == (8, 4) and (f >= 0).all() and (f <= 1 + 1e-5).all()
    torch.nn.functional.cross_entropy(model(x), torch.arange(8) % 4).backward()
    assert model.encoder.cores.grad.abs().sum() > 0 and model.classifier.states.params.grad.abs().sum() > 0


def test_pca_quantum_trains_only_its_circuits():
    x = np.random.default_rng(0).random((50, 16)).astype(np.float32)
    model = PCAQuantum(x, classes=2, qubits=2)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["classifier.states.params"]
    assert model(torch.from_numpy(x)).shape == (50, 2)
