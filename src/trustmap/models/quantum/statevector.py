"""Exact, differentiable statevector simulation in torch (no quantum package needed).

A state of ``n`` qubits is a complex tensor ``(B, 2**n)``; qubit 0 is the most significant bit. Gates are
``(2, 2)`` or batched ``(B, 2, 2)`` complex matrices; CNOT and controlled-SWAP are basis permutations.
Everything is autograd-friendly, so circuit parameters train by backpropagation (in simulation the
parameter-shift rule gives the same gradients).

>>> a = product_state(torch.zeros(1, 2), torch.zeros(1, 2))  # |00>
>>> b = product_state(torch.full((1, 2), torch.pi), torch.zeros(1, 2))  # |11>
>>> round(float(swap_test_p0(a, b)[0]), 6)  # (1 + |<a|b>|^2) / 2
0.5
"""

from __future__ import annotations

import functools

import torch


def ry(theta: torch.Tensor) -> torch.Tensor:
    """RY(theta) as ``(..., 2, 2)`` complex matrices."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2).to(torch.complex64)


def rz(theta: torch.Tensor) -> torch.Tensor:
    """RZ(theta) = diag(e^{-i theta/2}, e^{i theta/2}) as ``(..., 2, 2)`` complex matrices."""
    e = torch.exp(-0.5j * theta.to(torch.complex64))
    zero = torch.zeros_like(e)
    return torch.stack([torch.stack([e, zero], -1), torch.stack([zero, e.conj()], -1)], -2)


def hadamard(dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    return torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=dtype) / 2**0.5


def product_state(theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Angle encoding: qubit i is RZ(phi_i) RY(theta_i) |0>; ``theta``, ``phi`` ``(B, n)`` -> ``(B, 2**n)``."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    ph = torch.exp(0.5j * phi.to(torch.complex64))
    qubits = torch.stack([c * ph.conj(), s * ph], -1)  # (B, n, 2)
    state = qubits[:, 0]
    for i in range(1, qubits.shape[1]):
        state = (state[:, :, None] * qubits[:, i, None, :]).reshape(state.shape[0], -1)
    return state


def apply_1q(state: torch.Tensor, gate: torch.Tensor, qubit: int, n: int) -> torch.Tensor:
    """Apply a one-qubit ``gate`` (``(2, 2)`` or ``(B, 2, 2)``) to ``qubit`` of ``(B, 2**n)`` states."""
    b = state.shape[0]
    t = state.reshape(b, 2**qubit, 2, 2 ** (n - qubit - 1))
    g = gate.to(state.dtype)
    out = torch.einsum("ij,bljr->blir", g, t) if g.dim() == 2 else torch.einsum("bij,bljr->blir", g, t)
    return out.reshape(b, -1)


@functools.lru_cache(maxsize=64)
def cnot_permutation(control: int, target: int, n: int) -> torch.Tensor:
    """Basis permutation of CNOT(control -> target): ``new[k] = old[perm[k]]``."""
    idx = torch.arange(2**n)
    cbit, tbit = 1 << (n - 1 - control), 1 << (n - 1 - target)
    return torch.where(idx & cbit != 0, idx ^ tbit, idx)


@functools.lru_cache(maxsize=64)
def cswap_permutation(control: int, a: int, b: int, n: int) -> torch.Tensor:
    """Basis permutation of controlled-SWAP (Fredkin) of qubits ``a`` and ``b``."""
    idx = torch.arange(2**n)
    cbit, abit, bbit = (1 << (n - 1 - q) for q in (control, a, b))
    differ = ((idx & abit != 0) != (idx & bbit != 0)) & (idx & cbit != 0)
    return torch.where(differ, idx ^ abit ^ bbit, idx)


def apply_permutation(state: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    return state[:, perm]


def fidelity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``|<a_i|b_j>|^2`` for states ``a`` ``(B, D)`` and ``b`` ``(C, D)`` -> ``(B, C)``."""
    return (a @ b.conj().T).abs() ** 2


def swap_test_p0(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Simulate the full SWAP test on ``1 + 2n`` qubits (ancilla, ``a``'s register, ``b``'s) and return
    P(ancilla = 0) per pair; ``a``, ``b`` ``(B, 2**n)``. Ideal value: ``(1 + |<a|b>|^2) / 2``."""
    n = (a.shape[1] - 1).bit_length()
    total = 1 + 2 * n
    joint = (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1).to(torch.complex128)
    state = torch.cat([joint, torch.zeros_like(joint)], 1)  # ancilla |0> is the leading bit
    h = hadamard(torch.complex128)
    state = apply_1q(state, h, 0, total)
    for i in range(n):
        state = apply_permutation(state, cswap_permutation(0, 1 + i, 1 + n + i, total))
    state = apply_1q(state, h, 0, total)
    return (state[:, : state.shape[1] // 2].abs() ** 2).sum(1)
