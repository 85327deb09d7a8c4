"""``trustmap repro bert-sentiment``: the quick smoke run, the negation subset and the checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trustmap.repro.base import ReproResult


@pytest.mark.slow
def test_quick_run_produces_the_table():
    from trustmap.repro import repro_info
    from trustmap.repro.bert_sentiment import METHODS

    result = repro_info("bert-sentiment").run(size="quick", seed=0, progress=False)
    assert result.status == "smoke run" and result.seeds == [0, 1]
    assert [r["method"] for r in result.rows] == list(METHODS)
    for row in result.rows:
        assert len(row["test_accuracy_per_seed"]) == 2 and "[" in row["test_accuracy_95"]
        assert 0.0 <= row["negation_accuracy"] <= 1.0
    assert len(result.runs) == 2 * len(METHODS)
    assert {c.kind for c in result.checks} == {"claim", "sanity", "info"}
    json.dumps(result.to_dict())


def test_negation_subset():
    from trustmap.repro.bert_sentiment import negation_mask

    texts = np.array(["It isn't good", "not bad at all", "good, but long", "a fine film", "Nothing works", "notable"])
    assert negation_mask(texts).tolist() == [True, True, True, False, True, False]


def _runs(ft_neg: float) -> list[dict]:
    runs = []
    for s in (0, 1):
        j = 0.004 * s
        for m, acc, neg in (
            ("fine-tuned-minilm", 0.82, ft_neg),
            ("frozen-minilm-lr", 0.76, 0.70),
            ("word2vec-lr", 0.72, 0.62),
            ("minilm-input-emb-lr", 0.70, 0.63),
            ("tfidf-lr", 0.74, 0.68),
            ("majority", 0.58, 0.55),
        ):
            runs.append({"method": m, "seed": s, "test_accuracy": acc + j, "negation_accuracy": neg + j})
    return runs


def test_checks():
    from trustmap.repro.bert_sentiment import bert_sentiment_checks

    checks = bert_sentiment_checks(_runs(0.80))
    assert sum(c.kind == "sanity" for c in checks) == 5 and all(c.passed for c in checks if c.kind != "info")
    assert ReproResult(method="bert-sentiment", claim="c.", rows=[], checks=checks).status == "held"
    weak = bert_sentiment_checks(_runs(0.71))
    assert ReproResult(method="bert-sentiment", claim="c.", rows=[], checks=weak).status == "did not hold"
