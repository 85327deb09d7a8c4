"""co-TenQu: a tensor network feeding a quantum-fidelity classifier (arXiv 2402.15333), simulated exactly.

- :class:`MPSEncoder`: a matrix product state over the pixels (bond ``bond``; local map
  ``[cos(pi x / 2), sin(pi x / 2)]``) contracted left to right, then a linear read-out to ``2 * qubits``
  values, batch-normalised and mapped to angles ``pi * Phi(z)`` in (0, pi), the same map as the PCA
  baseline's *(ours: without it the angles barely vary and training stalls at chance)*. The running bond
  vector is renormalised at every site *(ours: keeps 196 products finite)*.
- :class:`ClassStates`: QuClassi-style, one trained circuit per class on ``qubits`` qubits, ``layers``
  layers of RY and RZ on every qubit followed by a CNOT ring, applied to |0...0>.
- :class:`FidelityClassifier`: the data state (angle encoding, RY then RZ per qubit) against each class
  state; logits ``F_c / tau`` (``F = |<x|c>|^2``, what a SWAP test estimates as ``2 P0 - 1``), trained with
  cross-entropy (tau 0.1).

Shapes: pixels ``(B, 196)`` in [0, 1] -> angles ``(B, 2 * qubits)`` -> states ``(B, 2**qubits)`` ->
fidelities ``(B, classes)``.

>>> model = TenQu(pixels=196, classes=4)
>>> model(torch.rand(3, 196)).shape
torch.Size([3, 4])
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from trustmap.models.quantum.statevector import (
    apply_1q,
    apply_permutation,
    cnot_permutation,
    fidelity,
    product_state,
    ry,
    rz,
)


class MPSEncoder(nn.Module):
    def __init__(self, *, pixels: int, bond: int = 4, out: int = 8, init_noise: float = 0.05) -> None:
        super().__init__()
        eye = torch.eye(bond).expand(pixels, 2, bond, bond) / math.sqrt(2)
        self.cores = nn.Parameter(eye + init_noise * torch.randn(pixels, 2, bond, bond))
        self.left = nn.Parameter(torch.ones(bond) / math.sqrt(bond))
        self.readout = nn.Linear(bond, out)
        self.norm = nn.BatchNorm1d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local = torch.stack([torch.cos(math.pi * x / 2), torch.sin(math.pi * x / 2)], -1)  # (B, P, 2)
        mats = torch.einsum("bpk,pkde->bpde", local, self.cores)  # (B, P, D, D)
        v = self.left.expand(x.shape[0], -1)
        for j in range(mats.shape[1]):
            v = torch.bmm(v[:, None], mats[:, j])[:, 0]
            v = v / (v.norm(dim=1, keepdim=True) + 1e-12)
        z = self.norm(self.readout(v))
        return math.pi * 0.5 * (1 + torch.erf(z / math.sqrt(2)))


class ClassStates(nn.Module):
    """One parameterised circuit per class: ``params`` ``(classes, layers, qubits, 2)`` RY/RZ angles."""

    def __init__(self, *, classes: int, qubits: int, layers: int = 2) -> None:
        super().__init__()
        self.qubits = qubits
        self.params = nn.Parameter(torch.rand(classes, layers, qubits, 2) * 2 * math.pi)

    def forward(self) -> torch.Tensor:
        c, layers, n, _ = self.params.shape
        state = torch.zeros(c, 2**n, dtype=torch.complex64)
        state[:, 0] = 1
        for layer in range(layers):
            for q in range(n):
                gate = rz(self.params[:, layer, q, 1]) @ ry(self.params[:, layer, q, 0])
                state = apply_1q(state, gate, q, n)
            for q in range(n):
                state = apply_permutation(state, cnot_permutation(q, (q + 1) % n, n))
        return state


class FidelityClassifier(nn.Module):
    """Logits ``|<x|c>|^2 / tau`` from angles ``(B, 2 * qubits)`` (RY angles first, then RZ)."""

    def __init__(self, *, classes: int, qubits: int, layers: int = 2, tau: float = 0.1) -> None:
        super().__init__()
        self.qubits, self.tau = qubits, tau
        self.states = ClassStates(classes=classes, qubits=qubits, layers=layers)

    def fidelities(self, angles: torch.Tensor) -> torch.Tensor:
        data = product_state(angles[:, : self.qubits], angles[:, self.qubits :])
        return fidelity(data, self.states())

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        return self.fidelities(angles) / self.tau


class TenQu(nn.Module):
    """co-TenQu: :class:`MPSEncoder` (trained classically) -> :class:`FidelityClassifier`."""

    def __init__(self, *, pixels: int, classes: int, qubits: int = 4, bond: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.encoder = MPSEncoder(pixels=pixels, bond=bond, out=2 * qubits)
        self.classifier = FidelityClassifier(classes=classes, qubits=qubits, layers=layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encoder(x))


class PCAQuantum(nn.Module):
    """Baseline: fixed PCA to ``2 * qubits`` components, angles ``pi * Phi(z)`` (z standardised on the
    training set), then the same fidelity classifier. Only the class circuits train."""

    def __init__(self, x_train: np.ndarray, *, classes: int, qubits: int, layers: int = 2) -> None:
        super().__init__()
        from sklearn.decomposition import PCA

        k = 2 * qubits
        pca = PCA(n_components=k, random_state=0).fit(x_train)
        z = pca.transform(x_train)
        self.register_buffer("mean", torch.tensor(pca.mean_, dtype=torch.float32))
        self.register_buffer("components", torch.tensor(pca.components_.T, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(z.std(0) + 1e-8, dtype=torch.float32))
        self.classifier = FidelityClassifier(classes=classes, qubits=qubits, layers=layers)

    def angles(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) @ self.components / self.scale
        return math.pi * 0.5 * (1 + torch.erf(z / math.sqrt(2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.angles(x))
