"""The library side of ``trustmap compare A B``: load both models, check that one input fits both, run
ModelDiff (arXiv 2106.08890) with its baselines and, beside it, the extraction-aware conferrable
adversarial examples test (arXiv 1912.00888), and record the comparison in the results store.

Seed inputs are the test split of ``data`` (a registered dataset or a user ``.npz``); without ``data``,
the dataset recorded in model A's metadata is used. The fingerprint's surrogates and references train on
the training split; ``queries`` names the dataset a thief would query with (default: MNIST-5k for
Fashion-MNIST and the other way round, KnockoffNets' natural out-of-task images; none otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustmap.data import load_dataset
from trustmap.errors import DataError, ModelError, TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.models.io import load_model
from trustmap.provenance.conferrable import ConferrableResult, default_archs, make_fingerprint, verify
from trustmap.provenance.modeldiff import (
    DEFAULT_THRESHOLD,
    ModelDiffResult,
    compare_models,
)
from trustmap.store import ResultsStore

DEFAULT_QUERIES = {"fashion-mnist": "mnist-5k", "mnist-5k": "fashion-mnist"}


@dataclass(frozen=True)
class CompareOutcome:
    result: ModelDiffResult
    data: str
    run_id: int
    conferrable: ConferrableResult | None = None
    queries: str | None = None


def _check_inputs(a: ModelHandle, b: ModelHandle, x: np.ndarray, data: str) -> None:
    sa, sb = a.meta.input_shape, b.meta.input_shape
    if sa and sb and tuple(sa) != tuple(sb):
        raise ModelError(
            f"the models take different inputs: A expects {a.meta.kind} inputs of shape {tuple(sa)}, "
            f"B expects {b.meta.kind} inputs of shape {tuple(sb)}; ModelDiff needs one input both accept"
        )
    for name, h in (("A", a), ("B", b)):
        try:
            h.check_data(x, what=f"{data} (test)")
        except ModelError as exc:
            raise ModelError(f"model {name}: {exc}") from None


def compare_files(
    a: Path,
    b: Path,
    *,
    store: ResultsStore,
    data: str | None = None,
    n_pairs: int = 300,
    mutation: str = "search",
    steps: int = 200,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    cae: bool = True,
    queries: str | None = None,
) -> CompareOutcome:
    if mutation not in ("search", "gradient", "none"):
        raise TrustmapError(f"unknown mutation {mutation!r}; use search, gradient or none")
    if n_pairs < 2 or steps < 0:
        raise TrustmapError("--pairs must be at least 2 and --steps at least 0")
    if not 0 <= threshold <= 1:  # also refuses nan
        raise TrustmapError(f"--threshold must be a similarity in [0, 1], got {threshold}")
    handle_a, handle_b = load_model(a), load_model(b)
    if data is None:
        data = handle_a.meta.dataset
        if not data:
            raise DataError(f"{Path(a).name} records no dataset; pass --data NAME or --data FILE.npz for seed inputs")
    ds = load_dataset(data)
    if ds.kind == "text":
        raise DataError("ModelDiff compares image or table models; text models are not supported")
    seeds = ds.test.x
    _check_inputs(handle_a, handle_b, seeds, ds.name)
    if mutation == "gradient" and not (handle_a.white_box and handle_b.white_box):
        raise ModelError("--mutation gradient needs white-box models; use --mutation search")
    args = {
        "a": str(a),
        "b": str(b),
        "data": data,
        "n_pairs": n_pairs,
        "mutation": mutation,
        "steps": steps,
        "threshold": threshold,
    }
    with store.run("compare", args=args, seed=seed) as run:
        run.dataset, run.dataset_sha256, run.model_sha256 = ds.name, ds.sha256(), handle_a.sha256
        result = compare_models(
            handle_a,
            handle_b,
            seeds=seeds,
            n_pairs=n_pairs,
            mutation=mutation,  # type: ignore[arg-type]
            steps=steps,
            threshold=threshold,
            value_range=ds.value_range,
            seed=seed,
        )
        run.metrics = {
            "similarity": result.similarity,
            "reused": result.reused,
            "threshold": threshold,
            "label_agreement": result.label_agreement,
            "model_b_sha256": handle_b.sha256,
        }
        if result.weight_cosine is not None:
            run.metrics["weight_cosine"] = result.weight_cosine
        conf, pool = None, None
        if cae:
            conf, pool = _conferrable(handle_a, handle_b, ds, queries=queries, seed=seed)
            run.metrics.update(
                {"cae_accuracy": conf.cae_accuracy, "cae_threshold": conf.threshold, "stolen": conf.stolen}
            )
    return CompareOutcome(result, ds.name, run.id, conf, pool)


def _conferrable(
    a: ModelHandle, b: ModelHandle, ds, *, queries: str | None, seed: int
) -> tuple[ConferrableResult, str | None]:
    """A's conferrable-example fingerprint (surrogates and references trained here) checked on B."""
    if ds.train is None or len(ds.train) < 20:
        raise DataError(f"{ds.name} has no training split to train the fingerprint's surrogates; pass --no-cae")
    pool = queries if queries is not None else DEFAULT_QUERIES.get(ds.name)
    qx = None
    if pool:
        qds = load_dataset(pool)
        qx = np.concatenate([s.x for s in (qds.train, qds.test) if s is not None])
        if tuple(qx.shape[1:]) != tuple(ds.test.x.shape[1:]):
            raise DataError(
                f"--queries {pool} has inputs of shape {tuple(qx.shape[1:])}, {ds.name} "
                f"{tuple(ds.test.x.shape[1:])}; choose a query pool that fits both models"
            )
    shape = tuple(ds.test.x.shape[1:])
    archs = (
        tuple(dict.fromkeys([a.meta.arch, *default_archs(shape)]))
        if a.meta.arch in ("cnn-s", "mlp", "logreg")
        else default_archs(shape)
    )
    fp = make_fingerprint(
        a,
        train_x=ds.train.x,
        train_y=ds.train.y,
        seeds_x=ds.test.x,
        seeds_y=ds.test.y,
        query_x=qx,
        archs=archs,
        value_range=ds.value_range,
        seed=seed,
    )
    return verify(fp, b), pool
