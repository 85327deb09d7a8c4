"""``trustmap repro ddi-coco``: DDI-CoCo (Chiu et al., ICASSP 2024, arXiv 2401.13280): classifiers detect
"malignancy" worse when the lesion contrasts little with the skin around it.

Data (**synthetic colour on real shapes**, :mod:`trustmap.data.skin_composites`): Fashion-MNIST Shirt
("malignant") versus T-shirt ("benign") composited on six skin tones, lesion darkened by ``c ~ U(0.05,
0.6)``; the control set is the same images at a fixed ``c = 0.35``. Each test image is scored with the
paper's 3+3-point procedure (lesion points where the garment intensity > 0.5, skin points where it is
< 0.05; :func:`trustmap.probes.fairness.contrast.score_images`) and cut at the per-class median into a low-
and a high-contrast half; the control set is cut by an independent random score. Models per seed: CNN-S
and pixel logistic regression, trained on the matching training set.

Checks (methods.md): median per-image CV of the score over 5 relabellings < 5%; AUROC(high) - AUROC(low)
>= 0.05 for both models; the control gap < 0.02; sanity: every model beats chance (AUROC 0.5). Reported:
accuracy gaps, the gap per skin tone (CNN-S), and the ``ddi-coco`` audit probe's verdict on the CNN-S
(automatic masks, accuracy gap) for the contrast and the control test sets.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from trustmap.data import Dataset, Split, load_dataset, stratified_indices
from trustmap.data.skin_composites import TONE_NAMES, skin_composites
from trustmap.models import ModelHandle, TrainConfig, build_model, fit
from trustmap.models.meta import ModelMeta
from trustmap.probes import AuditData, make_probe
from trustmap.probes.fairness.contrast import contrast_halves, score_images
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar

SIZES = {
    "default": {"seeds": 3, "train": 12000, "test": 2000, "cnn_epochs": 5, "lr_epochs": 10},
    "quick": {"seeds": 2, "train": 600, "test": 300, "cnn_epochs": 2, "lr_epochs": 3},
}
BENIGN, MALIGNANT = 0, 6  # T-shirt, Shirt
MODELS = {"cnn-s": ("cnn_epochs", 3e-3), "logreg": ("lr_epochs", 1e-2)}


def _binary(split: Split, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(np.isin(split.y, (BENIGN, MALIGNANT)))
    idx = keep[stratified_indices(split.y[keep], min(n, len(keep)), seed=seed)]
    return split.x[idx, 0], (split.y[idx] == MALIGNANT).astype(np.int64)


def _train(arch: str, x: np.ndarray, y: np.ndarray, cfg: dict[str, Any], seed: int) -> torch.nn.Module:
    key, lr = MODELS[arch]
    model = build_model(arch, input_shape=(3, 28, 28), num_classes=2, seed=seed)
    fit(model, Split(x, y), config=TrainConfig(epochs=cfg[key], lr=lr, batch_size=128), seed=seed, progress=False)
    return model.eval()


def _prob(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), 1)[:, 1].numpy()


def _halves(y: np.ndarray, p: np.ndarray, high: np.ndarray) -> dict[str, float]:
    pred = (p > 0.5).astype(np.int64)
    out = {"auroc": float(roc_auc_score(y, p)), "accuracy": float(np.mean(pred == y))}
    for name, m in (("high", high), ("low", ~high)):
        out[f"auroc_{name}"] = float(roc_auc_score(y[m], p[m]))
        out[f"accuracy_{name}"] = float(np.mean(pred[m] == y[m]))
    out["auroc_gap"] = out["auroc_high"] - out["auroc_low"]
    out["accuracy_gap"] = out["accuracy_high"] - out["accuracy_low"]
    return out


def _tone_gaps(y: np.ndarray, p: np.ndarray, score: np.ndarray, tone: np.ndarray, seed: int) -> dict[str, float]:
    gaps = {}
    for t, name in enumerate(TONE_NAMES):
        m = tone == t
        if np.bincount(y[m], minlength=2).min() < 4:
            continue
        high = contrast_halves(score[m], y[m], seed=seed)
        gaps[f"tone_{name}_auroc_gap"] = _halves(y[m], p[m], high)["auroc_gap"]
    return gaps


def _probe(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, tone: np.ndarray, seed: int) -> dict[str, float]:
    classes = ("benign", "malignant")
    split = Split(x, y, {"tone": np.asarray(TONE_NAMES)[tone]})
    ds = Dataset("ddi-coco composites", "image", split, split, classes, value_range=(0.0, 1.0))
    meta = ModelMeta(
        kind="image",
        arch="cnn-s",
        input_shape=(3, 28, 28),
        num_classes=2,
        classes=classes,
        value_range=(0.0, 1.0),
        dataset=ds.name,
    )
    res = make_probe("ddi-coco").run(
        ModelHandle.from_module(model, meta), AuditData(ds, split, sensitive="tone"), seed=seed
    )
    return {"probe_gap": res.metrics["contrast_accuracy_gap"], "probe_flagged": res.metrics["flagged"]}


@register_repro("ddi-coco", title="DDI-CoCo: colour contrast and skin disease detection", arxiv="2401.13280")
def ddi_coco_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    fm = load_dataset("fashion-mnist")
    seeds = [seed + i for i in range(cfg["seeds"])]
    runs: list[dict[str, Any]] = []
    cvs: list[float] = []
    with progress_bar("ddi-coco", total=len(seeds) * 4, enabled=progress) as tick:
        for s in seeds:
            g_tr, y_tr = _binary(fm.train, cfg["train"], s)
            g_te, y_te = _binary(fm.test, cfg["test"], s)
            sets = {
                "contrast": (skin_composites(g_tr, seed=s), skin_composites(g_te, seed=s + 1000)),
                "control": (skin_composites(g_tr, c=0.35, seed=s), skin_composites(g_te, c=0.35, seed=s + 1000)),
            }
            test = sets["contrast"][1]
            sc = score_images(test.x, masks=test.lesion, background=test.skin, relabels=5, seed=s)
            cvs.append(float(np.median(sc.cv)))
            high = {
                "contrast": contrast_halves(sc.score, y_te, seed=s),
                "control": contrast_halves(np.random.default_rng(s + 7).random(len(y_te)), y_te, seed=s),
            }
            for set_name, (tr, te) in sets.items():
                for arch in MODELS:
                    model = _train(arch, tr.x, y_tr, cfg, s)
                    p = _prob(model, te.x)
                    row = {"seed": s, "set": set_name, "model": arch, **_halves(y_te, p, high[set_name])}
                    if arch == "cnn-s":
                        row.update(_probe(model, te.x, y_te, te.tone, s))
                        if set_name == "contrast":
                            row.update(_tone_gaps(y_te, p, sc.score, te.tone, s))
                    runs.append(row)
                    tick()
    return _result(runs, cvs, cfg, size, seeds, time.perf_counter() - start)


def _result(
    runs: list[dict[str, Any]], cvs: list[float], cfg: dict[str, Any], size: str, seeds: list[int], seconds: float
) -> ReproResult:
    rows, checks = (
        [],
        [Check.over_seeds("median per-image score CV over 5 relabellings", cvs, threshold=0.05, above=False)],
    )
    for set_name in ("contrast", "control"):
        for arch in MODELS:
            rs = [r for r in runs if r["set"] == set_name and r["model"] == arch]
            row: dict[str, Any] = {"method": f"{arch} ({set_name} set)"}
            for key in ("auroc", "auroc_high", "auroc_low", "auroc_gap", "accuracy_gap"):
                iv = mean_interval([r[key] for r in rs])
                row[key], row[f"{key}_95"] = iv.mean, iv.text()
            row["auroc_gap_per_seed"] = [round(r["auroc_gap"], 4) for r in rs]
            if arch == "cnn-s":
                row["probe_flagged_per_seed"] = [int(r["probe_flagged"]) for r in rs]
                row["probe_gap_95"] = mean_interval([r["probe_gap"] for r in rs]).text()
                tones = sorted({k for r in rs for k in r if k.startswith("tone_")})
                for k in tones:
                    row[k] = float(np.mean([r[k] for r in rs if k in r]))
            rows.append(row)
            checks.append(
                Check.over_seeds(
                    f"sanity: {arch} AUROC minus chance ({set_name} set)",
                    [r["auroc"] - 0.5 for r in rs],
                    threshold=0.0,
                    kind="sanity",
                )
            )
            gaps = [r["auroc_gap"] for r in rs]
            if set_name == "contrast":
                checks.append(Check.over_seeds(f"{arch}: AUROC(high contrast) - AUROC(low)", gaps, threshold=0.05))
            else:
                checks.append(
                    Check.over_seeds(
                        f"{arch}: control AUROC gap (random split, fixed c)", gaps, threshold=0.02, above=False
                    )
                )
    return ReproResult(
        method="ddi-coco",
        claim="Classifiers detect the 'malignant' class worse on low-contrast lesions (AUROC gap >= 0.05 for a CNN "
        "and pixel logistic regression), the contrast score is stable under relabelling (median CV < 5%), and "
        "a fixed-contrast control split at random shows no gap (< 0.02).",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=seconds,
        notes=f"SYNTHETIC colour on real shapes: Fashion-MNIST Shirt (malignant) vs T-shirt (benign), "
        f"{cfg['train']} train / {cfg['test']} test images per seed, composited on 6 skin tones, lesion darkened by "
        "c ~ U(0.05, 0.6) (control: c = 0.35), pixel noise 0.03. CNN-S (Adam lr 3e-3, "
        f"{cfg['cnn_epochs']} epochs) and pixel logistic regression (Adam lr 1e-2, {cfg['lr_epochs']} epochs). "
        "Halves cut at the per-class median contrast score (control: a random score). Tone gaps (CNN-S, "
        "report-only) are noisy: ~1/6 of the test set each. probe_*: the ddi-coco audit probe (automatic "
        "Otsu/border masks, accuracy gap, flagged = gap >= 0.05 with its bootstrap interval above 0). "
        "Intervals: 95% Student t over seeds.",
    )
