"""Backdoor scan and removal on 3 clean and 3 backdoored Fashion-MNIST CNN-S models.

Models: 3 clean (seeds 0, 1, 2) and 3 backdoored: a BadNets 4x4 checker patch bottom-right toward class 3,
a BadNets 4x4 solid patch top-left toward class 7, and a blended trigger (alpha 0.15) toward class 1
(10% of the training images poisoned). Each is scanned with ``backdoor-scan`` at the ``standard`` budget
on 1,000 test images (6,000 training images, 2 epochs), and each backdoored model is cleaned with ``harden --method nc-unlearn`` and
``--method fine-prune`` from a 5,000-image clean set; the real trigger's attack success rate (ASR) and the
clean accuracy are measured on the whole test split before and after, and the cleaned model is
re-scanned (``quick`` budget).

Another implementation: ART 1.20's Neural Cleanse (``art.defences.transformer.poisoning.NeuralCleanse``)
accepts only Keras classifiers (it needs TensorFlow), so it cannot scan these PyTorch models; the
comparison is against our own single-signal decisions on the same runs (STRIP only; Neural Cleanse only).

Prints one table line per model, then ``BENCH`` lines (see ``benchmarks/README.md``):

- detection accuracy (6 models) of the two-signal decision vs STRIP only and vs Neural Cleanse only;
- scan seconds per model vs the seconds it took to train the model;
- removal: ASR after / ASR before (target <= 0.2) and the clean-accuracy cost in points (target <= 2).

``--quick``: 2,000 training images and 1 epoch (a smoke run; its ratios are not the acceptance figures).
``--models DIR``: keep the trained models there and reuse them on the next run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Ratio, at_least, at_most, report  # noqa: E402

MODELS = [  # name, poison (None: clean), seed
    ("clean-s0", None, 0),
    ("clean-s1", None, 1),
    ("clean-s2", None, 2),
    ("badnets-br-t3", {"kind": "patch", "position": "bottom-right", "pattern": "checker", "target": 3}, 0),
    ("badnets-tl-t7", {"kind": "patch", "position": "top-left", "pattern": "solid", "target": 7}, 1),
    ("blend-t1", {"kind": "blend", "alpha": 0.15, "target": 1}, 2),
]


def train_models(ds, folder: Path, *, n_train: int, epochs: int) -> dict[str, Path]:
    from trustmap.attacks.backdoor import Trigger, poison_split
    from trustmap.data import stratified_indices
    from trustmap.models import save_model
    from trustmap.models.workflows import meta_for, train_model

    paths = {}
    for name, poison, seed in MODELS:
        path = folder / f"{name}.pt2"
        paths[name] = path
        if path.exists():
            continue
        train = ds.train.subset(stratified_indices(ds.train.y, n_train, seed=seed))
        extra = {}
        if poison is not None:
            opts = {k: v for k, v in poison.items() if k != "target"}
            out = poison_split(
                train,
                trigger=Trigger(**opts, seed=seed),
                target=poison["target"],
                rate=0.1,
                seed=seed,
                num_classes=ds.num_classes,
            )
            train, extra = out.split, {"poison": out.describe()}
        start = time.perf_counter()
        model, _ = train_model(ds, "cnn-s", train=train, seed=seed, epochs=epochs)
        save_model(model, path, meta=meta_for(ds, "cnn-s", **extra))
        seconds = time.perf_counter() - start
        path.with_suffix(".json").write_text(json.dumps({"train_seconds": seconds}))
        print(f"trained {name} in {seconds:.0f} s", flush=True)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--no-removal", action="store_true")
    args = ap.parse_args()

    import torch

    from trustmap.attacks.backdoor import attack_success_rate
    from trustmap.data import load_dataset, stratified_indices
    from trustmap.defenses.workflows import harden
    from trustmap.models import load_model
    from trustmap.probes import AuditData, make_probe
    from trustmap.probes.backdoor.neural_cleanse import known_trigger

    torch.set_num_threads(max(1, torch.get_num_threads()))
    art = importlib.util.find_spec("art") is not None
    tf = importlib.util.find_spec("tensorflow") is not None
    print(
        f"other implementation: ART installed={art}, TensorFlow installed={tf}; ART's NeuralCleanse needs a "
        f"KerasClassifier, so it {'could' if tf else 'cannot'} scan these PyTorch models here; baseline: "
        f"our single-signal decisions (STRIP only, Neural Cleanse only) on the same runs",
        flush=True,
    )
    folder = args.models or Path(tempfile.mkdtemp(prefix="bench-backdoor-"))
    folder.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("fashion-mnist")
    n_train, epochs = (2000, 1) if args.quick else (6000, 2)
    paths = train_models(ds, folder, n_train=n_train, epochs=epochs)
    audit = AuditData(ds, ds.test.subset(stratified_indices(ds.test.y, 1000, seed=0)))
    rows = []
    for name, poison, _seed in MODELS:
        handle = load_model(paths[name])
        r = make_probe("backdoor-scan", budget="standard").run(handle, audit, seed=0)
        m, secs = r.metrics, r.seconds
        train_secs = json.loads(paths[name].with_suffix(".json").read_text())["train_seconds"]
        known = known_trigger(handle)
        acc = float((handle.predict(ds.test.x).argmax(1) == ds.test.y).mean())
        asr = attack_success_rate(handle, ds.test.x, ds.test.y, trigger=known[0], target=known[1]) if known else None
        row = {
            "model": name,
            "backdoored": poison is not None,
            "target": poison["target"] if poison else None,
            "clean_accuracy": acc,
            "real_asr": asr,
            "flagged": bool(m["flagged"]),
            "nc_flagged": bool(m["nc_flagged"]),
            "strip_flagged": bool(m["strip_flagged"]),
            "anomaly_index": m["anomaly_index"],
            "suspected_target": int(m["suspected_target"]),
            "inverted_asr": m["inverted_asr"],
            "strip_ratio": m["strip_ratio"],
            "seconds": secs,
            "train_seconds": train_secs,
        }
        rows.append(row)
        print("SCAN " + json.dumps(row), flush=True)

    def accuracy(key: str) -> float:  # right when a backdoored model is flagged *with its target*
        ok = [(r[key] and r["suspected_target"] == r["target"]) if r["backdoored"] else not r[key] for r in rows]
        return sum(ok) / len(ok)

    both, strip, nc = accuracy("flagged"), accuracy("strip_flagged"), accuracy("nc_flagged")
    secs = sum(r["seconds"] for r in rows) / len(rows)
    tsecs = sum(r["train_seconds"] for r in rows) / len(rows)
    ratios = [
        Ratio(
            "detection accuracy",
            "nc+strip",
            "strip only",
            both / strip if strip else float("nan"),
            f"two-signal accuracy {both:.2f} / STRIP-only {strip:.2f} (6 models; 1 = as good)",
            *at_least(both / strip if strip else float("nan"), 1.0),
        ),
        Ratio(
            "detection accuracy",
            "nc+strip",
            "nc only",
            both / nc if nc else float("nan"),
            f"two-signal accuracy {both:.2f} / Neural-Cleanse-only {nc:.2f}",
            *at_least(both / nc if nc else float("nan"), 1.0),
        ),
        Ratio(
            "detection accuracy",
            "nc+strip",
            "absolute",
            both,
            "fraction of the 6 models judged right (standard budget)",
            *at_least(both, 1.0),
        ),
        Ratio(
            "wall time",
            "scan (standard)",
            "training",
            secs / tsecs,
            f"mean scan seconds {secs:.1f} / mean training seconds {tsecs:.1f} per model",
        ),
    ]
    if not args.no_removal:
        for name, poison, seed in MODELS:
            if poison is None:
                continue
            for method in ("nc-unlearn", "fine-prune"):
                out = harden(
                    method,
                    data="fashion-mnist",
                    arch="cnn-s",
                    out=folder / f"{name}.{method}.pt2",
                    model=paths[name],
                    train_size=5000,
                    seed=0,
                )
                mm = out.metrics
                cleaned = load_model(folder / f"{name}.{method}.pt2")
                rescan = make_probe("backdoor-scan", budget="quick").run(cleaned, audit, seed=0).metrics
                line = {
                    "model": name,
                    "method": method,
                    **{k: mm[k] for k in ("asr_before", "asr_after", "clean_accuracy_before", "clean_accuracy_after")},
                    "seconds": out.seconds,
                    "rescan_flagged": bool(rescan["flagged"]),
                    "rescan_anomaly_index": rescan["anomaly_index"],
                    "rescan_known_trigger_asr": rescan.get("known_trigger_asr"),
                }
                print("REMOVAL " + json.dumps(line), flush=True)
                drop = 100 * (mm["clean_accuracy_before"] - mm["clean_accuracy_after"])
                asr_ratio = mm["asr_after"] / mm["asr_before"] if mm["asr_before"] else float("nan")
                ratios += [
                    Ratio(
                        f"ASR ({name})",
                        method,
                        "backdoored",
                        asr_ratio,
                        f"real-trigger ASR after / before ({mm['asr_after']:.3f} / {mm['asr_before']:.3f})",
                        *at_most(asr_ratio, 0.2),
                    ),
                    Ratio(
                        f"accuracy cost ({name})",
                        method,
                        "backdoored",
                        drop,
                        "clean test accuracy lost, in points (a difference, not a ratio)",
                        *at_most(drop, 2.0),
                    ),
                ]
    report("backdoor", ratios)


if __name__ == "__main__":
    main()
