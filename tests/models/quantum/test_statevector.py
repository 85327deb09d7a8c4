"""Statevector simulation: gates, permutations, fidelity and the SWAP test against known answers."""

from __future__ import annotations

import math

import torch

from trustmap.models.quantum import (
    apply_1q,
    apply_permutation,
    cnot_permutation,
    cswap_permutation,
    fidelity,
    hadamard,
    product_state,
    ry,
    swap_test_p0,
)


def basis(k: int, n: int) -> torch.Tensor:
    s = torch.zeros(1, 2**n, dtype=torch.complex128)
    s[0, k] = 1
    return s


def test_cnot_and_cswap_permute_the_right_basis_states():
    # |10> -> |11> and |11> -> |10>; |0x> unchanged (qubit 0 is the leading bit)
    perm = cnot_permutation(0, 1, 2)
    assert [int(torch.argmax(apply_permutation(basis(k, 2), perm).abs())) for k in range(4)] == [0, 1, 3, 2]
    sw = cswap_permutation(0, 1, 2, 3)  # |1 a b> -> |1 b a>
    assert [int(torch.argmax(apply_permutation(basis(k, 3), sw).abs())) for k in range(8)] == [0, 1, 2, 3, 4, 6, 5, 7]


def test_gates_build_a_bell_state_and_product_encoding_matches_gates():
    state = apply_1q(basis(0, 2), hadamard(), 0, 2)
    bell = apply_permutation(state, cnot_permutation(0, 1, 2))
    assert torch.allclose(bell.abs() ** 2, torch.tensor([[0.5, 0, 0, 0.5]], dtype=torch.float64))
    theta = torch.tensor([[0.3, 1.1, 2.0]])
    by_gates = basis(0, 3).to(torch.complex64)
    for q in range(3):
        by_gates = apply_1q(by_gates, ry(theta[0, q]), q, 3)
    assert torch.allclose(product_state(theta, torch.zeros(1, 3)), by_gates, atol=1e-6)


def test_swap_test_probability_is_one_plus_fidelity_over_two():
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(20, 16, dtype=torch.complex128, generator=g) for _ in range(2))
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    f = torch.diagonal(fidelity(a, b))
    assert torch.allclose(swap_test_p0(a, b), (1 + f) / 2, atol=1e-12)
    assert torch.allclose(swap_test_p0(a, a), torch.ones(20, dtype=torch.float64), atol=1e-12)
    assert math.isclose(float(fidelity(basis(1, 2), basis(2, 2))), 0.0)
