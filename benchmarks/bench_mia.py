"""Membership inference at the audit's default budget: trustmap's attacks side by side with ART's trained
black-box attack, on one overfit model of our own.

The target is an MLP trained on ``--members`` Fashion-MNIST images for ``--epochs`` epochs (Adam, lr 1e-3,
constant, batch 100): it fits its members perfectly (train accuracy 1.0) and generalises less well
(test ~0.78), the situation membership audits exist for. ART's ``MembershipInferenceBlackBox`` (a trained
attack model on the target's probability vectors and labels; ``nn`` and ``rf`` variants) learns on
``--art-train`` known members and as many non-members; every attack is scored on the other members and as
many other non-members (``--n`` at most). trustmap's probes run with their ``standard`` budget defaults;
the reference-model attacks (RMIA, LiRA) train on an auditor's pool of ``2 x --members`` other
non-members (so each reference model sees as many examples as the target did), as an audit does. No
attack sees the evaluation examples' membership. Metrics: ROC AUC and TPR at 0.1% and 1% FPR (Carlini
et al., arXiv 2112.03570). Two ratios: the best trustmap attack's TPR at 0.1% FPR over ART's best (needs
ART; target > 1), and its AUC (target >= 0.70; also with ``--skip-art``).

    python benchmarks/bench_mia.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np
import torch
from _report import Ratio, at_least


def _row(m: dict[str, float], seconds: float) -> dict[str, float]:
    return {"auc": m["auc"], "tpr_at_0.1fpr": m["tpr_at_0.1fpr"], "tpr_at_1fpr": m["tpr_at_1fpr"], "seconds": seconds}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=500)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--art-train", type=int, default=200, help="members (and non-members) ART's attack learns on")
    p.add_argument("--n", type=int, default=2000, help="evaluation members (and as many non-members), at most")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-art", action="store_true")
    p.add_argument("--quick", action="store_true", help="a small, fast configuration (for CI)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.members, args.epochs, args.art_train, args.n = 400, 10, 100, 300

    from trustmap.data import load_dataset
    from trustmap.models import ModelHandle, TrainConfig, build_model, fit
    from trustmap.models.workflows import meta_for
    from trustmap.probes import AuditData, make_probe
    from trustmap.probes.membership.metrics import membership_metrics

    ds = load_dataset("fashion-mnist")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.train))
    members_idx = order[: args.members]
    rest = order[args.members :]
    k = min(args.art_train, args.members - 1)
    n = min(args.n, args.members - k)
    art_in, eval_in = members_idx[:k], members_idx[k : k + n]
    art_out, eval_out = rest[:k], rest[k : k + n]
    pool_idx = rest[k + n : k + n + 2 * args.members]

    model = build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    t = time.perf_counter()
    config = TrainConfig(epochs=args.epochs, lr=1e-3, batch_size=100, schedule="constant")
    fit(model, ds.train.subset(members_idx), config=config, seed=0, progress=False)
    handle = ModelHandle.from_module(model, meta_for(ds, "mlp"))
    train_acc = float((handle.predict(ds.train.x[members_idx]).argmax(1) == ds.train.y[members_idx]).mean())
    test_acc = float((handle.predict(ds.test.x).argmax(1) == ds.test.y).mean())
    target_s = time.perf_counter() - t
    print(
        f"target: MLP, {args.members} members, {args.epochs} epochs ({target_s:.0f} s): "
        f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}; evaluation: {n} members, {n} "
        f"non-members; pool {len(pool_idx)}",
        flush=True,
    )

    data = AuditData(
        ds,
        eval=ds.test,
        members=ds.train.subset(eval_in),
        nonmembers=ds.train.subset(eval_out),
        pool=ds.train.subset(pool_idx),
    )
    rows: dict[str, dict[str, float]] = {}
    for probe_id in ("mia-loss", "mia-confidence", "mia-rmia", "mia-lira"):
        t = time.perf_counter()
        res = make_probe(probe_id, budget="standard", n=n).run(handle, data, seed=0, progress=False)
        rows[f"trustmap {probe_id}"] = _row(res.metrics, time.perf_counter() - t)
        print(f"{probe_id}: {rows[f'trustmap {probe_id}']}", flush=True)

    if not args.skip_art:
        from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
        from art.estimators.classification import PyTorchClassifier

        clf = PyTorchClassifier(
            model=model.eval(),
            loss=torch.nn.CrossEntropyLoss(),
            input_shape=ds.input_shape,
            nb_classes=10,
            clip_values=(0.0, 1.0),
        )
        onehot = np.eye(10, dtype=np.float32)
        for kind in ("nn", "rf"):
            t = time.perf_counter()
            attack = MembershipInferenceBlackBox(clf, attack_model_type=kind)
            attack.fit(ds.train.x[art_in], onehot[ds.train.y[art_in]], ds.train.x[art_out], onehot[ds.train.y[art_out]])
            s_in = attack.infer(ds.train.x[eval_in], onehot[ds.train.y[eval_in]], probabilities=True).ravel()
            s_out = attack.infer(ds.train.x[eval_out], onehot[ds.train.y[eval_out]], probabilities=True).ravel()
            m = membership_metrics(s_in, s_out)
            rows[f"ART black-box ({kind})"] = _row(m, time.perf_counter() - t)

    print(f"\n{'attack':28s} {'AUC':>7s} {'AUC-0.5':>8s} {'TPR@0.1%':>9s} {'TPR@1%':>8s} {'time':>7s}")
    for name, r in rows.items():
        print(
            f"{name:28s} {r['auc']:7.3f} {r['auc'] - 0.5:+8.3f} {r['tpr_at_0.1fpr']:9.4f} {r['tpr_at_1fpr']:8.4f} "
            f"{r['seconds']:6.1f}s"
        )
    ours = {name: r for name, r in rows.items() if name.startswith("trustmap")}
    best = max(ours.values(), key=lambda r: (r["tpr_at_0.1fpr"], r["auc"]))
    best_auc = max(r["auc"] for r in ours.values())
    context = {
        "target_train_accuracy": train_acc,
        "target_test_accuracy": test_acc,
        "target_seconds": target_s,
        "n": n,
        "rows": rows,
    }
    ratios = [
        Ratio(
            "AUC",
            "trustmap best attack",
            "target 0.70",
            round(best_auc, 4),
            "the best trustmap attack's ROC AUC (0.5 is chance)",
            *at_least(best_auc, 0.70),
        )
    ]
    art_rows = [r for name, r in rows.items() if name.startswith("ART")]
    if art_rows:
        art_tpr = max(r["tpr_at_0.1fpr"] for r in art_rows)
        # a TPR of 0 is floored at one member in n, the smallest non-zero TPR the sample can show
        ratio = best["tpr_at_0.1fpr"] / max(art_tpr, 1 / n) if best["tpr_at_0.1fpr"] > 0 else 0.0
        print(
            f"\nbest trustmap AUC {best_auc:.3f} (target >= 0.70); TPR at 0.1% FPR {best['tpr_at_0.1fpr']:.4f} "
            f"vs ART's best {art_tpr:.4f} ({ratio:.2f}x)"
        )
        passed = best["tpr_at_0.1fpr"] > art_tpr
        art_name = "ART MembershipInferenceBlackBox (best of nn, rf)"
        ratios.insert(
            0,
            Ratio(
                "TPR at 0.1% FPR",
                "trustmap best attack",
                art_name,
                round(ratio, 3),
                "TPR at 0.1% FPR, trustmap / max(ART, 1/n) (higher is better)",
                "trustmap > ART",
                passed,
            ),
        )
    else:
        print(f"\nbest trustmap AUC {best_auc:.3f} (target >= 0.70); ART skipped")
    for r in ratios:
        print("BENCH " + json.dumps({"name": "mia", **asdict(r), **context}), flush=True)
    return rows


if __name__ == "__main__":
    main()
