"""Small quantum-circuit simulation in torch (statevectors) and the co-TenQu classifier built on it."""

from trustmap.models.quantum.statevector import (
    apply_1q,
    apply_permutation,
    cnot_permutation,
    cswap_permutation,
    fidelity,
    hadamard,
    product_state,
    ry,
    rz,
    swap_test_p0,
)
from trustmap.models.quantum.tenqu import ClassStates, FidelityClassifier, MPSEncoder, PCAQuantum, TenQu

__all__ = [
    "ClassStates",
    "FidelityClassifier",
    "MPSEncoder",
    "PCAQuantum",
    "TenQu",
    "apply_1q",
    "apply_permutation",
    "cnot_permutation",
    "cswap_permutation",
    "fidelity",
    "hadamard",
    "product_state",
    "ry",
    "rz",
    "swap_test_p0",
]
