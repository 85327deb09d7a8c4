"""``trustmap repro lda-fas``: Latent Distribution Adjusting for face anti-spoofing (arXiv 2305.09285).

Live faces are the 100 real faces of ``skimage.data.lfw_subset()``; spoofs are **synthetic** print,
replay, mask and cut-photo attacks made from them (:mod:`trustmap.data.face_spoof`). Cross-attack
protocol (leave one attack out, as in SiW-M): for each of the 4 attacks, train on live faces and the other
3 attacks, and test on the held-out one. Faces are split by identity per seed (60 train / 15 validation /
25 test). Heads on the same trunk (:mod:`trustmap.models.lda_fas`), same initial trunk weights and batch
order: softmax (linear + CE), CosFace (1 prototype per class, s=16, m=0.2) and LDA (5 prototypes per
class at start, s=16, m=0.2; after 2 warm-up epochs the prototypes move to per-class k-means
centres *(ours)* and APS drops those owning < 2% of their class). Scores are P(spoof); the operating threshold is
the equal-error threshold on the seen validation split; APCER, BPCER and ACER (their mean) on test.

Unseen attack: ACER on live test faces + the held-out attack, before and after a 5-shot update with no
gradient step (5 spoof views of the unseen attack from training identities): LDA adds their normalised
mean as a new spoof prototype; CosFace moves its spoof centre (``w <- normalised(w + mean)``). The
threshold is re-taken on the seen validation split after the update.

Checks (methods.md, ``lda-fas``; the paper reports no ACER we could use, so thresholds are methods.md's):
seen-test ACER of LDA <= 0.7x softmax's; 5-shot prototypes cut LDA's unseen ACER by >= 30% relative and by
more than CosFace's centroid update; sanity: every head's seen-test ACER is below the trivial 0.5 by
>= 0.05. Per-seed values average the 4 held-out attacks; intervals are 95% Student-t over seeds.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from trustmap.data import Split
from trustmap.data.face_spoof import ATTACKS, FaceViews, face_views, lfw_faces
from trustmap.models import TrainConfig, fit
from trustmap.models.lda_fas import PrototypeHead, SoftmaxHead, SpoofNet
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed, seeded_global_rng

SIZES = {
    "default": {"seeds": 3, "live": 24, "spoof": 8, "test_views": 8, "epochs": 10, "holdouts": ATTACKS},
    "quick": {"seeds": 2, "live": 6, "spoof": 2, "test_views": 3, "epochs": 3, "holdouts": ("print", "mask")},
}
HEADS = ("softmax", "CosFace (K=1)", "LDA (K=5)")
SHOTS, SPLIT = 5, (60, 15, 25)


def eer_threshold(score: np.ndarray, y: np.ndarray) -> float:
    """The threshold on P(spoof) where APCER (spoof passed as live) meets BPCER (live rejected)."""
    cands = np.unique(score)
    apcer = np.array([np.mean(score[y == 1] < t) for t in cands])
    bpcer = np.array([np.mean(score[y == 0] >= t) for t in cands])
    return float(cands[np.argmin(np.abs(apcer - bpcer))])


def error_rates(score: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    apcer = float(np.mean(score[y == 1] < threshold))
    bpcer = float(np.mean(score[y == 0] >= threshold))
    return {"apcer": apcer, "bpcer": bpcer, "acer": (apcer + bpcer) / 2}


@torch.no_grad()
def _spoof_prob(net: SpoofNet, x: np.ndarray) -> np.ndarray:
    net.eval()
    return torch.softmax(net(torch.from_numpy(x)), 1)[:, 1].numpy()


def _make_head(name: str) -> torch.nn.Module:
    if name == "softmax":
        return SoftmaxHead(classes=2, dim=64)
    return PrototypeHead(classes=2, per_class=1 if name.startswith("CosFace") else 5, dim=64)


def _train(name: str, tr: FaceViews, epochs: int, seed: int) -> SpoofNet:
    with seeded_global_rng(seed):
        trunk_state = SpoofNet(SoftmaxHead(classes=2, dim=64)).trunk.state_dict()
    with seeded_global_rng(seed + 1):
        net = SpoofNet(_make_head(name))
    net.trunk.load_state_dict(trunk_state)  # every head starts from the same trunk
    x_all = torch.from_numpy(tr.x)

    def aps(model: torch.nn.Module, epoch: int) -> None:
        if isinstance(model.head, PrototypeHead) and epoch == 1 and model.head.weight.shape[1] > 1:
            with torch.no_grad():
                z, y = model.embed(x_all), torch.from_numpy(tr.y)
                model.head.init_from_embeddings(z, y, seed=seed)
                model.head.prune(z, y)

    fit(
        net,
        Split(tr.x, tr.y),
        config=TrainConfig(epochs=epochs, lr=3e-3, batch_size=64),
        seed=seed,
        loss_fn=lambda m, xb, yb: m.loss(xb, yb),
        on_epoch_end=aps,
        progress=False,
    )
    return net.eval()


def _protocol(faces: np.ndarray, holdout: str, cfg: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    order = np.random.default_rng(seed).permutation(len(faces))
    a, b = SPLIT[0], SPLIT[0] + SPLIT[1]
    seen = tuple(x for x in ATTACKS if x != holdout)
    k = ATTACKS.index(holdout)
    kw = {"seed": derive_seed(seed, k)}
    tr = face_views(faces[order[:a]], live_per_face=cfg["live"], spoof_per_face=cfg["spoof"], attacks=seen, **kw)
    n = cfg["test_views"]
    va = face_views(faces[order[a:b]], live_per_face=3 * n, spoof_per_face=n, attacks=seen, seed=kw["seed"] + 1)
    te = face_views(faces[order[b:]], live_per_face=3 * n, spoof_per_face=n, attacks=ATTACKS, seed=kw["seed"] + 2)
    shots = face_views(faces[order[:SHOTS]], live_per_face=0, spoof_per_face=1, attacks=(holdout,), seed=kw["seed"] + 3)
    seen_te = te.subset(np.flatnonzero(te.attack != k))
    unseen_te = te.subset(np.flatnonzero((te.attack == k) | (te.y == 0)))
    rows = []
    for name in HEADS:
        net = _train(name, tr, cfg["epochs"], seed)
        thr = eer_threshold(_spoof_prob(net, va.x), va.y)
        seen_r = error_rates(_spoof_prob(net, seen_te.x), seen_te.y, thr)
        unseen_r = error_rates(_spoof_prob(net, unseen_te.x), unseen_te.y, thr)
        row = {"seed": seed, "holdout": holdout, "method": name, "seen_acer": seen_r["acer"]}
        row.update({f"seen_{m}": seen_r[m] for m in ("apcer", "bpcer")})
        row.update({"unseen_acer": unseen_r["acer"], "unseen_apcer": unseen_r["apcer"]})
        row["prototypes"] = net.head.prototypes_alive if isinstance(net.head, PrototypeHead) else [1, 1]
        if isinstance(net.head, PrototypeHead):
            with torch.no_grad():
                emb = net.embed(torch.from_numpy(shots.x))
            if net.head.weight.shape[1] > 1:
                net.head.add_prototype(1, emb)
            else:
                net.head.centroid_update(1, emb)
            thr5 = eer_threshold(_spoof_prob(net, va.x), va.y)
            after = error_rates(_spoof_prob(net, unseen_te.x), unseen_te.y, thr5)
            row["unseen_acer_5shot"] = after["acer"]
            row["seen_acer_5shot"] = error_rates(_spoof_prob(net, seen_te.x), seen_te.y, thr5)["acer"]
        rows.append(row)
    return rows


@register_repro("lda-fas", title="Latent Distribution Adjusting for face anti-spoofing", arxiv="2305.09285")
def lda_fas_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    faces = lfw_faces()
    seeds = [seed + i for i in range(cfg["seeds"])]
    protos: list[dict[str, Any]] = []
    with progress_bar("lda-fas", total=len(seeds) * len(cfg["holdouts"]), enabled=progress) as tick:
        for s in seeds:
            for h in cfg["holdouts"]:
                protos += _protocol(faces, h, cfg, s)
                tick()
    return _result(protos, cfg, size, seeds, time.perf_counter() - start)


def _per_seed(protos: list[dict[str, Any]], method: str, key: str, seeds: list[int]) -> list[float]:
    return [float(np.mean([p[key] for p in protos if p["method"] == method and p["seed"] == s])) for s in seeds]


def _result(protos: list[dict[str, Any]], cfg: dict[str, Any], size: str, seeds: list[int], secs: float) -> ReproResult:
    keys = ("seen_acer", "seen_apcer", "seen_bpcer", "unseen_acer", "unseen_acer_5shot")
    runs, rows = [], []
    for m in HEADS:
        vals = {k: _per_seed(protos, m, k, seeds) for k in keys if k in next(p for p in protos if p["method"] == m)}
        runs += [{"seed": s, "method": m, **{k: v[i] for k, v in vals.items()}} for i, s in enumerate(seeds)]
        row: dict[str, Any] = {"method": m}
        for k, v in vals.items():
            iv = mean_interval(v)
            row[k], row[f"{k}_95"] = iv.mean, iv.text(digits=4)
        row["seen_acer_per_seed"] = [round(v, 4) for v in vals["seen_acer"]]
        row["unseen_acer_per_holdout"] = {
            h: round(float(np.mean([p["unseen_acer"] for p in protos if p["method"] == m and p["holdout"] == h])), 4)
            for h in cfg["holdouts"]
        }
        rows.append(row)
    soft, cos, lda = HEADS

    def cut(m: str) -> list[float]:
        before, after = _per_seed(protos, m, "unseen_acer", seeds), _per_seed(protos, m, "unseen_acer_5shot", seeds)
        return [(b - a) / max(b, 1e-3) for b, a in zip(before, after, strict=True)]

    s_soft, s_lda = _per_seed(protos, soft, "seen_acer", seeds), _per_seed(protos, lda, "seen_acer", seeds)
    checks = [
        Check.over_seeds(
            f"sanity: {m} seen-test ACER below the trivial 0.5",
            [0.5 - v for v in _per_seed(protos, m, "seen_acer", seeds)],
            threshold=0.05,
            kind="sanity",
        )
        for m in HEADS
    ]
    checks += [
        Check.over_seeds(
            "LDA seen-test ACER / softmax's (eps 0.005 each)",
            [(a + 0.005) / (b + 0.005) for a, b in zip(s_lda, s_soft, strict=True)],
            threshold=0.7,
            above=False,
        ),
        Check.over_seeds("LDA unseen ACER relative cut by 5-shot prototypes", cut(lda), threshold=0.3),
        Check.over_seeds(
            "LDA 5-shot relative cut minus CosFace centroid update's",
            [a - b for a, b in zip(cut(lda), cut(cos), strict=True)],
            threshold=0.0,
        ),
    ]
    kept = [p["prototypes"] for p in protos if p["method"] == lda]
    return ReproResult(
        method="lda-fas",
        claim="Multi-prototype latent distributions cut seen-attack ACER to <= 0.7x a softmax head's, and a few "
        "shots of an unseen attack added as prototypes (no retraining) cut its ACER by >= 30%, more than a "
        "CosFace centroid update.",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=secs,
        notes=f"Live: 100 real LFW faces (skimage lfw_subset, 25x25); spoofs SYNTHETIC (print, replay, mask, cut-photo "
        f"transforms of the same faces). Leave-one-attack-out over {', '.join(cfg['holdouts'])}; identity split "
        f"60/15/25 faces; train {cfg['live']} live + {cfg['spoof']} views per seen attack per face; "
        f"{cfg['epochs']} epochs, Adam lr 3e-3, batch 64. LDA prototypes left after APS (live, spoof) per "
        f"protocol: {kept}. Threshold: EER on the seen validation split. Per-seed values are means over the "
        "held-out attacks; per-protocol values are in unseen_acer_per_holdout.",
    )
