"""A realistic, hand-built :class:`TrustReport` for renderer tests (and for anyone who needs one).

A CNN-S on Fashion-MNIST audited at the ``standard`` budget: six probes across the four dimensions,
with line, ROC and bar curves, per-class tables, one skipped probe, four weaknesses and timings.
Every number is computed here by plain arithmetic, so the report is identical on every call.

>>> from tests.report.sample import sample_report
>>> report = sample_report()
"""

from __future__ import annotations

from trustmap.results import Curve, Grade, ProbeResult, TrustReport, Weakness

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CLEAN = [0.86, 0.97, 0.80, 0.88, 0.81, 0.95, 0.62, 0.94, 0.97, 0.95]
ROBUST = [0.12, 0.31, 0.05, 0.14, 0.06, 0.09, 0.01, 0.18, 0.22, 0.14]
EPS = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2]
PGD_CURVE = [0.875, 0.64, 0.41, 0.22, 0.132, 0.041, 0.008]
FGSM_CURVE = [0.875, 0.69, 0.50, 0.35, 0.246, 0.12, 0.06]
QUERIES = [100.0, 300.0, 1000.0, 3000.0, 10000.0]
CLONE_ACC = [0.41, 0.58, 0.71, 0.79, 0.83]
FIDELITY = [0.44, 0.62, 0.76, 0.85, 0.90]


def _roc(power: float, n: int = 41) -> tuple[list[float], list[float]]:
    """A smooth ROC curve TPR = FPR ** power on log-spaced FPRs from 1e-3 to 1, starting at (0, 0)."""
    fpr = [0.0] + [10 ** (-3 + 3 * i / (n - 1)) for i in range(n)]
    tpr = [0.0] + [round(f**power, 6) for f in fpr[1:]]
    return [round(f, 6) for f in fpr], tpr


def sample_probes() -> list[ProbeResult]:
    per_class = [{"class": c, "clean_accuracy": a, "robust_accuracy": r} for c, a, r in zip(CLASSES, CLEAN, ROBUST)]
    mia_fpr, mia_tpr = _roc(0.62)
    ref_fpr, ref_tpr = _roc(0.8)
    return [
        ProbeResult(
            probe="pgd-linf",
            dimension="robustness",
            title="PGD evasion (L∞)",
            metrics={
                "clean_accuracy": 0.875,
                "robust_accuracy": 0.132,
                "worst_class_robust_accuracy": 0.01,
                "epsilon": 0.1,
                "steps": 20,
            },
            curves=[
                Curve("robust accuracy", EPS, PGD_CURVE, "epsilon (L∞)", "accuracy"),
                Curve("clean", list(range(10)), CLEAN, "class", "accuracy", kind="bar", labels=CLASSES),
                Curve("robust (ε=0.1)", list(range(10)), ROBUST, "class", "accuracy", kind="bar", labels=CLASSES),
            ],
            tables={"per_class": per_class},
            options={"eps": 0.1, "steps": 20, "step_size": 0.01, "random_start": True, "n": 1000},
        ),
        ProbeResult(
            probe="fgsm",
            dimension="robustness",
            title="FGSM evasion (L∞)",
            metrics={"clean_accuracy": 0.875, "robust_accuracy": 0.246, "epsilon": 0.1},
            curves=[Curve("robust accuracy", EPS, FGSM_CURVE, "epsilon (L∞)", "accuracy")],
            options={"eps": 0.1, "n": 1000},
        ),
        ProbeResult(
            probe="mia-loss",
            dimension="privacy",
            title="Loss-threshold membership inference",
            metrics={"auc": 0.634, "tpr_at_1fpr": 0.057, "tpr_at_0.1fpr": 0.0093, "advantage": 0.212, "n": 1000.0},
            curves=[
                Curve(
                    "Loss-threshold membership inference ROC",
                    mia_fpr,
                    mia_tpr,
                    "false-positive rate",
                    "true-positive rate",
                    kind="roc",
                ),
                Curve(
                    "reference (early-stopped)",
                    ref_fpr,
                    ref_tpr,
                    "false-positive rate",
                    "true-positive rate",
                    kind="roc",
                ),
            ],
            options={"members": 1000, "nonmembers": 1000},
        ),
        ProbeResult(
            probe="mia-rmia",
            dimension="privacy",
            title="RMIA membership inference",
            status="skipped",
            reason="RMIA needs reference data (--pool) and none was given",
            options={"reference_models": 2},
        ),
        ProbeResult(
            probe="knockoff",
            dimension="security",
            title="Knockoff model stealing",
            metrics={"clone_accuracy": 0.83, "fidelity": 0.90, "victim_accuracy": 0.875, "queries": 10000},
            curves=[
                Curve("clone accuracy", QUERIES, CLONE_ACC, "queries", "accuracy"),
                Curve("fidelity", QUERIES, FIDELITY, "queries", "agreement with the victim"),
            ],
            tables={
                "by_budget": [
                    {"queries": int(q), "clone_accuracy": a, "fidelity": f}
                    for q, a, f in zip(QUERIES, CLONE_ACC, FIDELITY)
                ]
            },
            options={"queries": 10000, "clone_arch": "cnn-s", "epochs": 15},
        ),
        ProbeResult(
            probe="robust-fairness",
            dimension="fairness",
            title="Robust fairness (per-class accuracy)",
            metrics={
                "clean_accuracy": 0.875,
                "robust_accuracy": 0.132,
                "worst_class_clean": 0.62,
                "worst_class_robust": 0.01,
                "clean_gap": 0.35,
                "robust_gap": 0.30,
                "worst_class": "Shirt",
            },
            curves=[
                Curve(
                    "clean accuracy per class", list(range(10)), CLEAN, "class", "accuracy", kind="bar", labels=CLASSES
                )
            ],
            tables={
                "per_class": [
                    {"class": c, "accuracy": a, "gap_to_best": round(0.97 - a, 4)} for c, a in zip(CLASSES, CLEAN)
                ]
            },
        ),
    ]


def sample_report() -> TrustReport:
    """The sample report (a new object on every call)."""
    return TrustReport(
        model={
            "source": "models/cnn-s-fashion.pt",
            "arch": "cnn-s",
            "kind": "image",
            "white_box": True,
            "num_classes": 10,
            "dataset": "fashion-mnist",
            "sha256": "3f5a9c0e1b2d4f6a8c0e1b2d4f6a8c0e1b2d4f6a8c0e1b2d4f6a8c0e1b2d4f6a",
        },
        data={
            "name": "fashion-mnist",
            "sha256": "9b1c7e2a44d0c3f18e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f80912",
            "kind": "image",
            "n_eval": 1000,
            "n_members": 1000,
            "n_nonmembers": 1000,
            "n_pool": 0,
            "sensitive": None,
            "classes": CLASSES,
        },
        seed=0,
        budget="standard",
        probes=sample_probes(),
        scorecard=[
            Grade(
                "privacy",
                "C",
                0.58,
                ["membership AUC 0.634 (loss threshold)", "TPR 5.7% at 1% FPR", "RMIA skipped: no reference data"],
            ),
            Grade(
                "security",
                "D",
                0.41,
                ["a 10,000-query Knockoff clone reaches 83% accuracy", "clone agrees with the model on 90% of inputs"],
            ),
            Grade(
                "fairness",
                "C",
                0.65,
                ["worst class (Shirt) 35 points below the best", "robust accuracy gap between classes 0.30"],
            ),
            Grade(
                "robustness",
                "F",
                0.13,
                [
                    "PGD-20 (ε=0.1) robust accuracy 13.2%",
                    "FGSM (ε=0.1) robust accuracy 24.6%",
                    "Shirt robust accuracy 1%",
                ],
            ),
        ],
        weaknesses=[
            Weakness(
                "robustness",
                "pgd-linf",
                "Robust accuracy falls to 13.2% under PGD-20 at ε=0.1.",
                "bat",
                "trustmap harden --method bat --model models/cnn-s-fashion.pt --data fashion-mnist "
                "--eps 0.1 --out models/cnn-s-bat.pt",
            ),
            Weakness(
                "fairness",
                "robust-fairness",
                "Shirt is 35 points less accurate than the best class.",
                "bat",
                "trustmap harden --method bat --model models/cnn-s-fashion.pt --data fashion-mnist "
                "--out models/cnn-s-bat.pt",
            ),
            Weakness(
                "security",
                "knockoff",
                "A 10,000-query clone copies 90% of the model's decisions.",
                "ini",
                "trustmap harden --method ini --model models/cnn-s-fashion.pt --data fashion-mnist "
                "--out models/cnn-s-ini.pt",
            ),
            Weakness(
                "privacy",
                "mia-loss",
                "Membership is inferable from the loss (AUC 0.634).",
                "regularise",
                "trustmap train --arch cnn-s --data fashion-mnist --weight-decay 5e-4 --early-stop "
                "--out models/cnn-s-l2.pt",
            ),
        ],
        config={
            "probes": ["pgd-linf", "fgsm", "mia-loss", "mia-rmia", "knockoff", "robust-fairness"],
            "eval_size": 1000,
            "device": "cpu",
        },
        versions={"trustmap": "0.1.0", "torch": "2.13.0", "numpy": "2.4.6", "python": "3.11.2"},
        timings={
            "pgd-linf": 41.3,
            "fgsm": 2.1,
            "mia-loss": 3.4,
            "mia-rmia": 0.0,
            "knockoff": 96.7,
            "robust-fairness": 0.4,
        },
        created_at="2025-11-25T13:05:00+00:00",
    )
