"""Federated partitions of an image dataset: IID, Dirichlet label skew and feature shift per group.

Partitioners split a given set of sample indices among clients so that every sample goes to exactly
one client. Feature shifts (ours, the FL sandbox of the federated repros) transform a client group's images
``(N, 1, H, W)`` in ``[0, 1]``: ``identity``, ``invert`` (1 − x), ``rot90``, ``noise`` (Gaussian σ=0.3,
clipped), and backgrounds ``black`` (= identity), ``grey`` (0.4 under pixels < 0.1), ``stripes``
(sinusoidal stripes under pixels < 0.1).

>>> parts = dirichlet_partition(y, num_clients=20, alpha=0.1, seed=0)   # list of 20 index arrays
>>> x_rot = apply_shift(x, "rot90")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trustmap.errors import TrustmapError

SHIFTS = ("identity", "black", "invert", "rot90", "noise", "grey", "stripes")


@dataclass(frozen=True)
class PartitionSpec:
    """A parsed ``--partition``: ``iid``, ``dirichlet:ALPHA`` or ``shift:KIND[,KIND...]`` (IID labels)."""

    kind: str  # iid | dirichlet | shift
    alpha: float | None = None
    shifts: tuple[str, ...] = ("identity",)

    def __str__(self) -> str:
        if self.kind == "dirichlet":
            return f"dirichlet:{self.alpha:g}"
        if self.kind == "shift":
            return "shift:" + ",".join(self.shifts)
        return "iid"


def parse_partition(text: str) -> PartitionSpec:
    """``"iid"``, ``"dirichlet:0.1"``, ``"shift:identity,invert,rot90"`` → :class:`PartitionSpec`."""
    kind, _, arg = text.strip().lower().partition(":")
    if kind == "iid" and not arg:
        return PartitionSpec("iid")
    if kind == "dirichlet":
        try:
            alpha = float(arg)
        except ValueError:
            raise TrustmapError(
                f"partition {text!r}: write dirichlet:ALPHA with a number, e.g. dirichlet:0.1"
            ) from None
        check_alpha(alpha)
        return PartitionSpec("dirichlet", alpha=alpha)
    if kind == "shift":
        shifts = tuple(s.strip() for s in arg.split(",") if s.strip()) or ("identity", "invert", "rot90")
        for s in shifts:
            if s not in SHIFTS:
                raise TrustmapError(f"unknown feature shift {s!r}; choose from {', '.join(SHIFTS)}")
        return PartitionSpec("shift", shifts=shifts)
    raise TrustmapError(f"unknown partition {text!r}; use iid, dirichlet:ALPHA or shift:KIND,KIND,...")


def check_alpha(alpha: float) -> None:
    if not (alpha > 0 and math.isfinite(alpha)):
        raise TrustmapError(f"Dirichlet alpha must be a positive number, got {alpha:g}")


def _check_clients(n: int, num_clients: int) -> None:
    if num_clients < 1:
        raise TrustmapError(f"need at least one client, got {num_clients}")
    if num_clients > n:
        raise TrustmapError(f"{num_clients} clients but only {n} samples: every client needs at least one sample")


def iid_partition(indices: np.ndarray, *, num_clients: int, seed: int) -> list[np.ndarray]:
    """Shuffle ``indices`` and deal them into ``num_clients`` near-equal parts."""
    indices = np.asarray(indices)
    _check_clients(len(indices), num_clients)
    rng = np.random.default_rng(seed)
    return [np.sort(p) for p in np.array_split(rng.permutation(indices), num_clients)]


def dirichlet_partition(
    y: np.ndarray,
    *,
    num_clients: int,
    alpha: float,
    seed: int,
    indices: np.ndarray | None = None,
    min_size: int = 1,
    max_tries: int = 100,
) -> list[np.ndarray]:
    """Label skew: each class's samples are split among clients by proportions ~ Dir(alpha·1).

    Small ``alpha`` gives each client few classes; large ``alpha`` tends to IID. Every index of
    ``indices`` (default: all of ``y``) is assigned to exactly one client. Draws are repeated (up to
    ``max_tries``) until every client has at least ``min_size`` samples, as in common FL benchmarks.
    """
    check_alpha(alpha)
    idx = np.arange(len(y)) if indices is None else np.asarray(indices)
    _check_clients(len(idx), num_clients)
    labels = np.asarray(y)[idx]
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for c in np.unique(labels):
            members = rng.permutation(idx[labels == c])
            props = rng.dirichlet(np.full(num_clients, alpha))
            cuts = (np.cumsum(props)[:-1] * len(members)).round().astype(int)
            for k, chunk in enumerate(np.split(members, cuts)):
                parts[k].append(chunk)
        out = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(p) for p in out) >= min_size:
            return out
    return out  # the best effort: still a full, disjoint assignment


def proportions_sample(
    y: np.ndarray, *, available: np.ndarray, proportions: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``n`` indices from ``available`` (without replacement) with class proportions ``proportions``."""
    counts = rng.multinomial(n, proportions)
    chosen = []
    for c, k in enumerate(counts):
        pool = available[y[available] == c]
        chosen.append(rng.choice(pool, size=min(k, len(pool)), replace=False))
    out = np.concatenate(chosen)
    if len(out) < n:  # a class ran out: top up from the rest
        rest = np.setdiff1d(available, out)
        out = np.concatenate([out, rng.choice(rest, size=n - len(out), replace=False)])
    return out


def apply_shift(x: np.ndarray, kind: str, *, seed: int = 0) -> np.ndarray:
    """Return shifted copies of images ``x`` ``(N, C, H, W)`` in [0, 1] (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if kind in ("identity", "black"):
        return x.copy()
    if kind == "invert":
        return 1.0 - x
    if kind == "rot90":
        return np.ascontiguousarray(np.rot90(x, k=1, axes=(2, 3)))
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(x + rng.normal(0.0, 0.3, size=x.shape).astype(np.float32), 0.0, 1.0)
    if kind in ("grey", "stripes"):
        h, w = x.shape[2:]
        if kind == "grey":
            bg = np.full((h, w), 0.4, np.float32)
        else:
            cols = np.arange(w, dtype=np.float32)
            bg = np.broadcast_to(0.5 + 0.4 * np.sin(2 * np.pi * cols / max(w / 4, 1)), (h, w)).astype(np.float32)
        return np.where(x < 0.1, bg, x).astype(np.float32)
    raise TrustmapError(f"unknown feature shift {kind!r}; choose from {', '.join(SHIFTS)}")
