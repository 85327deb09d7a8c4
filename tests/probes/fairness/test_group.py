"""``group-fairness`` on Adult agrees with Fairlearn's MetricFrame to 1e-9; skips and multiclass are clean."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.data.dataset import Dataset, Split
from trustmap.probes import AuditData, make_probe
from trustmap.probes.fairness import demographic_parity_difference, equalized_odds_difference, group_metrics


@pytest.fixture(scope="module")
def adult():
    from trustmap import load_dataset

    return load_dataset("adult")


@pytest.fixture(scope="module")
def adult_logreg(adult):
    """Logistic regression, 2 epochs on 8,000 stratified Adult rows (about 83% test accuracy)."""
    from trustmap.data import stratified_indices
    from trustmap.models import ModelHandle, TrainConfig, build_model, fit
    from trustmap.models.workflows import meta_for

    torch.manual_seed(0)
    model = build_model("logreg", input_shape=adult.input_shape, num_classes=2)
    idx = stratified_indices(adult.train.y, 8000, seed=0)
    fit(model, adult.train.subset(idx), config=TrainConfig(epochs=2, lr=1e-2, batch_size=256), seed=0, progress=False)
    return ModelHandle.from_module(model, meta_for(adult, "logreg"))


@pytest.mark.parametrize("attribute", ["sex", "race"])
def test_matches_fairlearn_metricframe_on_adult(adult, adult_logreg, attribute):
    from fairlearn import metrics as flm
    from sklearn.metrics import accuracy_score

    result = make_probe("group-fairness").run(adult_logreg, AuditData(adult, eval=adult.test, sensitive=attribute))
    assert result.status == "ok" and result.reason is None
    y_true = adult.test.y
    y_pred = adult_logreg.predict(adult.test.x).argmax(1)
    groups = adult.test.sensitive[attribute]
    frame = flm.MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "selection_rate": flm.selection_rate,
            "tpr": flm.true_positive_rate,
            "fpr": flm.false_positive_rate,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    by_group = frame.by_group
    rows = {r["group"]: r for r in result.tables["per_group"]}
    assert sorted(rows) == sorted(by_group.index)
    assert len(rows) == {"sex": 2, "race": 5}[attribute]
    for group, row in rows.items():
        for col in ("accuracy", "selection_rate", "tpr", "fpr"):
            assert abs(row[col] - by_group.loc[group, col]) <= 1e-9, (group, col)
        assert row["n"] == int((groups == group).sum())

    m = result.metrics
    checks = {
        "demographic_parity_difference": flm.demographic_parity_difference(y_true, y_pred, sensitive_features=groups),
        "demographic_parity_ratio": flm.demographic_parity_ratio(y_true, y_pred, sensitive_features=groups),
        "equalized_odds_difference": flm.equalized_odds_difference(y_true, y_pred, sensitive_features=groups),
        "equalized_odds_ratio": flm.equalized_odds_ratio(y_true, y_pred, sensitive_features=groups),
        "accuracy": accuracy_score(y_true, y_pred),
        "selection_rate": flm.selection_rate(y_true, y_pred),
        "worst_group_accuracy": by_group["accuracy"].min(),
        "group_accuracy_gap": frame.difference()["accuracy"],
    }
    for key, expected in checks.items():
        assert abs(m[key] - expected) <= 1e-9, (key, m[key], expected)
    # the functional API gives the same numbers
    dp = demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    eo = equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    assert (dp, eo) == (m["demographic_parity_difference"], m["equalized_odds_difference"])
    # a real model on Adult is not fair by sex: the gap is visible
    if attribute == "sex":
        assert m["demographic_parity_difference"] > 0.05
    assert [c.kind for c in result.curves] == ["bar", "bar"]
    assert result.curves[1].labels == sorted(rows)


def test_skips_with_one_line_reason_naming_the_attributes(adult, adult_logreg):
    probe = make_probe("group-fairness")
    none = probe.run(adult_logreg, AuditData(adult, eval=adult.test))
    assert none.status == "skipped" and "sex, race" in none.reason and "\n" not in none.reason
    unknown = probe.run(adult_logreg, AuditData(adult, eval=adult.test, sensitive="age"))
    assert unknown.status == "skipped" and "'age'" in unknown.reason and "sex, race" in unknown.reason


def _toy_table(num_classes: int, *, sensitive: bool = True) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.arange(60) % num_classes
    sens = {"group": np.array(["u", "v", "w"] * 20, dtype=object)} if sensitive else {}
    split = Split(x, y, sens)
    return Dataset("toy", "table", split, split, classes=tuple(str(c) for c in range(num_classes)))


class _Fixed:
    """A handle stand-in whose predictions are fixed in advance."""

    white_box = False

    def __init__(self, pred: np.ndarray, k: int) -> None:
        self.logits = np.eye(k, dtype=np.float32)[pred]

    def predict(self, x, *, batch_size: int = 512) -> np.ndarray:
        return self.logits[: len(x)]


def test_multiclass_reports_group_accuracy_and_notes_missing_parity():
    ds = _toy_table(3)
    pred = ds.test.y.copy()
    pred[ds.test.sensitive["group"] == "w"] = 0  # group w: only its class-0 thirds are right
    result = make_probe("group-fairness").run(_Fixed(pred, 3), AuditData(ds, eval=ds.test, sensitive="group"))
    assert result.status == "ok"
    assert "binary" in result.reason and "3 classes" in result.reason
    assert "demographic_parity_difference" not in result.metrics
    assert "equalized_odds_difference" not in result.metrics
    acc = {r["group"]: r["accuracy"] for r in result.tables["per_group"]}
    expected = group_metrics(ds.test.y, pred, sensitive_features=ds.test.sensitive["group"]).accuracy
    assert list(acc.values()) == pytest.approx(expected.tolist())
    assert acc["u"] == 1.0 and acc["w"] < 1.0
    assert result.metrics["group_accuracy_gap"] == pytest.approx(max(acc.values()) - min(acc.values()))
    assert set(result.tables["per_group"][0]) == {"group", "n", "accuracy"}


def test_dataset_without_sensitive_attributes_is_skipped():
    ds = _toy_table(2, sensitive=False)
    result = make_probe("group-fairness").run(_Fixed(ds.test.y, 2), AuditData(ds, eval=ds.test, sensitive="sex"))
    assert result.status == "skipped" and "has none" in result.reason
