"""A federation: clients with their own train/test data, built deterministically from a spec.

The spec is small and hashable, so a Flower ClientApp running in another process (Ray actors) rebuilds
the same client data from it instead of receiving images over the wire.

Shapes: ``client.train.x`` ``(n, 1, S, S)`` float32 in [0, 1] with ``S`` = 28 or 14 (FM14: 2×2 average
pooling), ``client.train.y`` ``(n,)`` int64.

>>> spec = FederationSpec(num_clients=20, partition="dirichlet:0.1", train_per_client=1000, seed=0)
>>> fed = build_federation(spec)
>>> fed.clients[3].train.x.shape, fed.test.x.shape   # local data, and the global 10k test set
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from trustmap.data import Split, load_dataset, stratified_indices
from trustmap.errors import TrustmapError
from trustmap.federated.partition import (
    apply_shift,
    check_alpha,
    dirichlet_partition,
    iid_partition,
    parse_partition,
    proportions_sample,
)


@dataclass(frozen=True)
class FederationSpec:
    """How to build clients. ``shifts`` puts clients in equal groups, group ``g`` gets ``shifts[g]``.

    ``partition`` sets the label skew (``iid`` or ``dirichlet:ALPHA``; ``shift:...`` sets ``shifts``).
    ``skew_per="group"`` draws one Dirichlet class mix per group (all its clients share it).
    """

    num_clients: int = 20
    partition: str = "iid"
    train_per_client: int = 1000
    test_per_client: int = 200
    shifts: tuple[str, ...] = ("identity",)
    skew_per: str = "client"  # client | group
    image_size: int = 28  # 28 or 14 (FM14)
    dataset: str = "fashion-mnist"
    seed: int = 0


@dataclass
class Client:
    cid: int
    group: int
    shift: str
    train: Split
    test: Split


@dataclass
class Federation:
    spec: FederationSpec
    clients: list[Client]
    test: Split  # the dataset's test split (unshifted), for global accuracy

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.clients[0].train.x.shape[1:])

    @property
    def groups(self) -> np.ndarray:
        return np.array([c.group for c in self.clients])


def pool2(x: np.ndarray) -> np.ndarray:
    """FM14: 2×2 average pooling of ``(N, C, 28, 28)`` → ``(N, C, 14, 14)``."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _dataset(name: str, image_size: int) -> tuple[Split, Split]:
    ds = load_dataset(name)
    if image_size == 28:
        return ds.train, ds.test
    if image_size == 14:
        return Split(pool2(ds.train.x), ds.train.y), Split(pool2(ds.test.x), ds.test.y)
    raise TrustmapError(f"image size must be 28 or 14 (FM14), got {image_size}")


@functools.lru_cache(maxsize=8)
def build_federation(spec: FederationSpec) -> Federation:
    """Clients' train and test data for ``spec`` (cached: same spec, same object)."""
    train, test = _dataset(spec.dataset, spec.image_size)
    part = parse_partition(spec.partition)
    shifts = part.shifts if part.kind == "shift" else spec.shifts
    per_client = spec.train_per_client + spec.test_per_client
    total = spec.num_clients * per_client
    if spec.num_clients < 1 or spec.train_per_client < 1 or spec.test_per_client < 0:
        raise TrustmapError("need at least one client with at least one training sample")
    if total > len(train.y):
        raise TrustmapError(
            f"{spec.num_clients} clients × {per_client} samples = {total} exceeds the {len(train.y)} "
            f"available samples; use fewer clients or fewer samples per client"
        )
    if len(shifts) > spec.num_clients:
        raise TrustmapError(f"{len(shifts)} shift groups but only {spec.num_clients} clients")
    rng = np.random.default_rng(spec.seed)
    groups = np.arange(spec.num_clients) * len(shifts) // spec.num_clients
    y = train.y
    if part.kind == "dirichlet" and spec.skew_per == "group":
        check_alpha(part.alpha or 0.0)
        available = np.arange(len(y))
        parts = []
        mixes = [rng.dirichlet(np.full(int(y.max()) + 1, part.alpha)) for _ in shifts]
        for k in range(spec.num_clients):
            idx = proportions_sample(y, available=available, proportions=mixes[groups[k]], n=per_client, rng=rng)
            available = np.setdiff1d(available, idx, assume_unique=True)
            parts.append(idx)
    else:
        pool = stratified_indices(y, total, seed=spec.seed)
        if part.kind == "dirichlet":
            parts = dirichlet_partition(
                y, num_clients=spec.num_clients, alpha=part.alpha, seed=spec.seed, indices=pool, min_size=2
            )
        else:
            parts = iid_partition(pool, num_clients=spec.num_clients, seed=spec.seed)
    clients = []
    for k, idx in enumerate(parts):
        idx = rng.permutation(idx)
        n_test = int(round(len(idx) * spec.test_per_client / per_client))
        n_test = min(n_test, len(idx) - 1)
        shift = shifts[groups[k]]
        x = apply_shift(train.x[idx], shift, seed=spec.seed * 1000 + k)
        tr, te = slice(n_test, None), slice(0, n_test)
        clients.append(Client(k, int(groups[k]), shift, Split(x[tr], y[idx][tr]), Split(x[te], y[idx][te])))
    return Federation(spec, clients, test)
