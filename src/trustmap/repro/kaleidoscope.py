"""``trustmap repro kaleidoscope``: Kaleidoscope's two-tier traffic classification policy (arXiv 2411.00408).

On **synthetic** flow traces (:mod:`trustmap.data.flows`: five application classes with TCP/TLS or
UDP/RTP structure, their own packet-size and inter-arrival laws, heavy-tailed flow lengths), per seed:

- always-MLP: :class:`~trustmap.models.traffic.PacketMLP` on the first 3 packets (float and int8 fixed point);
- always-CNN: :class:`~trustmap.models.traffic.FlowCNN` on the first 16 packets (all of a mouse flow's);
- two-tier: the int8 MLP's early label for every flow, replaced by the CNN's for flows reaching 16 packets.

Checks (methods.md): two-tier macro-F1 within 1 point of always-CNN (paired difference >= -0.01) with mean
MACs per flow <= 0.2x always-CNN's; int8 MLP within 0.5 point of the float MLP (>= -0.005); sanity: the
MLP and the CNN beat the majority class's macro-F1. Throughput (flows/s of the classifier on this CPU,
batch 2048, single thread) is reported next to accuracy; the paper's latency and 100 Gbps need hardware.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from trustmap.data import Split
from trustmap.data.flows import CLASSES, app_packets, flow_traces, packet_features
from trustmap.models import TrainConfig, fit
from trustmap.models.traffic import FlowCNN, PacketMLP, TwoTier, count_macs, predict_labels, quantize_mlp
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import seeded_global_rng

SIZES = {
    "default": {"seeds": 3, "train": 8000, "test": 4000, "epochs": 20},
    "quick": {"seeds": 2, "train": 1500, "test": 400, "epochs": 6},
}
MOUSE, ELEPHANT, THRESHOLD = 3, 16, 16
METHODS = ("always-MLP (float)", "always-MLP (int8)", "always-CNN", "two-tier (int8 MLP + CNN)")


def _train(model: Any, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> Any:
    fit(model, Split(x, y), config=TrainConfig(epochs=epochs, lr=3e-3, batch_size=128), seed=seed, progress=False)
    return model.eval()


def _throughput(fn: Any, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / max(best, 1e-9)


@register_repro(
    "kaleidoscope", title="Kaleidoscope: two-tier NN traffic analysis on the data plane", arxiv="2411.00408"
)
def kaleidoscope_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    seeds = [seed + i for i in range(cfg["seeds"])]
    runs: list[dict[str, Any]] = []
    with progress_bar("kaleidoscope", total=len(seeds), enabled=progress) as tick:
        for s in seeds:
            tr, te = flow_traces(cfg["train"], seed=s), flow_traces(cfg["test"], seed=s + 1000)
            x3, x16 = packet_features(tr, first=MOUSE), packet_features(tr, first=ELEPHANT)
            t3, t16 = packet_features(te, first=MOUSE), packet_features(te, first=ELEPHANT)
            n_te = app_packets(te)
            with seeded_global_rng(s):
                mlp, cnn = PacketMLP(packets=MOUSE), FlowCNN(packets=ELEPHANT)
            _train(mlp, x3, tr.label, cfg["epochs"], s)
            _train(cnn, x16, tr.label, cfg["epochs"], s)
            q = quantize_mlp(mlp, x3)
            tt = TwoTier(q, cnn, threshold=THRESHOLD)
            cnn_macs = count_macs(cnn, (ELEPHANT, 66))
            mlp_macs = count_macs(mlp, (MOUSE, 66))
            calls = {
                METHODS[0]: (mlp_macs, partial(predict_labels, mlp, t3)),
                METHODS[1]: (mlp_macs, partial(q.predict, t3)),
                METHODS[2]: (cnn_macs, partial(predict_labels, cnn, t16)),
                METHODS[3]: (tt.mean_macs(n_te), partial(tt.predict, t3, t16, n_te)),
            }
            mouse = n_te < THRESHOLD
            majority = np.full(len(te.label), np.bincount(tr.label).argmax())
            for name, (macs, fn) in calls.items():
                pred = fn()
                runs.append(
                    {
                        "seed": s,
                        "method": name,
                        "macro_f1": float(f1_score(te.label, pred, average="macro")),
                        "accuracy": float(np.mean(pred == te.label)),
                        "mouse_accuracy": float(np.mean(pred[mouse] == te.label[mouse])),
                        "elephant_accuracy": float(np.mean(pred[~mouse] == te.label[~mouse])),
                        "macs_per_flow": float(macs),
                        "flows_per_s": _throughput(fn, len(te.label)),
                        "elephant_fraction": float(np.mean(~mouse)),
                        "majority_macro_f1": float(f1_score(te.label, majority, average="macro")),
                    }
                )
            tick()
    return _result(runs, cfg, size, seeds, time.perf_counter() - start)


def _result(runs: list[dict[str, Any]], cfg: dict[str, Any], size: str, seeds: list[int], secs: float) -> ReproResult:
    per = {m: [r for r in runs if r["method"] == m] for m in METHODS}
    rows = []
    for m in METHODS:
        row: dict[str, Any] = {"method": m}
        for key in ("macro_f1", "accuracy", "mouse_accuracy", "elephant_accuracy", "macs_per_flow", "flows_per_s"):
            iv = mean_interval([r[key] for r in per[m]])
            row[key], row[f"{key}_95"] = iv.mean, iv.text(digits=4 if key != "flows_per_s" else 0)
        row["macro_f1_per_seed"] = [round(r["macro_f1"], 4) for r in per[m]]
        rows.append(row)

    def diff(a: str, b: str, key: str = "macro_f1") -> list[float]:
        return [x[key] - y[key] for x, y in zip(per[a], per[b], strict=True)]

    mlp, q, cnn, two = METHODS
    checks = [
        Check.over_seeds(
            f"sanity: {m} macro-F1 minus majority class",
            [r["macro_f1"] - r["majority_macro_f1"] for r in per[m]],
            threshold=0.01,
            kind="sanity",
        )
        for m in (mlp, cnn)
    ]
    checks += [
        Check.over_seeds("two-tier macro-F1 minus always-CNN (within 1 point)", diff(two, cnn), threshold=-0.01),
        Check.over_seeds(
            "two-tier mean MACs per flow / always-CNN's",
            [t["macs_per_flow"] / c["macs_per_flow"] for t, c in zip(per[two], per[cnn], strict=True)],
            threshold=0.2,
            above=False,
        ),
        Check.over_seeds("int8 MLP macro-F1 minus float MLP (within 0.5 point)", diff(q, mlp), threshold=-0.005),
    ]
    eleph = float(np.mean([r["elephant_fraction"] for r in runs]))
    return ReproResult(
        method="kaleidoscope",
        claim="A two-tier policy (cheap fixed-point MLP for mouse flows, 1D-CNN for elephants) keeps macro-F1 within "
        "1 point of always-CNN at <= 0.2x its MACs per flow; the int8 MLP is within 0.5 point of the float MLP.",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=secs,
        notes=f"SYNTHETIC flow traces (trustmap.data.flows), {cfg['train']} train / {cfg['test']} test flows per seed, "
        f"classes {', '.join(CLASSES)} in shares 40/10/10/25/15%; {eleph:.1%} of test flows reach {THRESHOLD} "
        f"packets (elephants). Features: first packets' 64 raw bytes, log IAT, direction, after the TCP "
        f"handshake. MLP {MOUSE} packets, CNN {ELEPHANT} packets, Adam lr 3e-3, {cfg['epochs']} epochs, batch 128. "
        "int8: post-training fixed point (power-of-two scales). Two-tier MACs charge the MLP to every flow and "
        "the CNN to elephants. flows_per_s: CPU inference over the test set, best of 3, shared machine "
        "(indicative only). Intervals: 95% Student t over seeds.",
    )
