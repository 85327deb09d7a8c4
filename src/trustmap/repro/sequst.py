"""``trustmap repro sequst``: uncertainty-aware self-training for low-resource sequence labelling.

Paper: Wang et al., "Uncertainty-aware Self-training for Low-resource Neural Sequence Labeling", AAAI 2023
(arXiv 2302.08659). No code released. Claim: with 10 shots per class, SeqUST beats self-training baselines
"by a large margin" on six NER/slot-filling sets; the paper's F1 values are not in the abstract (n/a), so
the thresholds are methods.md's (+3 over vanilla self-training, +5 over supervised-only, selected
pseudo-labels >= rejected ones' precision + 5).

**Corpus (silver).** No token-labelled corpus installs offline here: the ``nltk`` and ``conllu`` wheels
hold code only (nltk's corpora are a separate download), so the tags are *silver* opinion tags on the real
Rotten Tomatoes snippets (:mod:`trustmap.data.opinion_tags`: a 300 + 300 word log-odds lexicon mined
from the corpus, POS/NEG/O per word, flipped within 3 words after a negator). The tagger never sees the
lexicon, only 20 tagged sentences: 10 with a POS tag and 10 with a NEG tag (drawn per run from the RT
training pool), 3,000 untagged training-pool snippets (random state 0) and 1,000 RT test snippets.

Model: frozen MiniLM token features (first word-piece per word, max 64 pieces; cached on disk) ->
BiLSTM (hidden 128, dropout 0.3) -> 3 tags (:mod:`trustmap.adapt.sequst`); Adam lr 2e-3, teacher 150
full-batch steps, students 120 steps (labelled + 32 unlabelled sentences per step) *(ours)*. SeqUST:
T = 10 MC-dropout passes, 3 rounds, tokens with confidence >= 0.9 and variance <= the median, GCE
q = 0.7, Gaussian consistency (noise 0.3 x feature std). Vanilla self-training: every token's hard
pseudo-label, cross-entropy, 3 rounds. Trivial baseline: a random tagger drawing tags from the labelled
sentences' tag frequencies. Metric: word-level micro F1 over POS/NEG. 3 runs (seeds 0-2).

>>> result = sequst_experiment(size="quick", seed=0, progress=False)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trustmap.repro.base import Check, ReproResult, register_repro

CLAIM = (
    "Uncertainty-aware self-training (MC-dropout token selection, masked noise-robust loss, Gaussian "
    "consistency) beats vanilla self-training and supervised-only training in low-resource tagging."
)
SIZES = {
    "default": {
        "n_unl": 3000,
        "n_test": 1000,
        "shots": 10,
        "runs": 3,
        "rounds": 3,
        "T": 10,
        "t_steps": 150,
        "s_steps": 120,
    },
    "quick": {"n_unl": 120, "n_test": 80, "shots": 4, "runs": 2, "rounds": 1, "T": 3, "t_steps": 15, "s_steps": 15},
}
METHODS = ("sequst", "vanilla-self-training", "supervised-only", "random-tagger")


def _corpus(cfg: dict[str, int]) -> dict[str, Any]:
    """Words and silver tags of the shared unlabelled pool and test set, and the labelled candidates."""
    from trustmap.adapt.textdata import stratified_subset
    from trustmap.data import load_dataset
    from trustmap.data.opinion_tags import opinion_lexicon, split_words, tag_words

    ds = load_dataset("rotten-tomatoes")
    lex = opinion_lexicon()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.train))
    unl_idx, cand_idx = order[: cfg["n_unl"]], order[cfg["n_unl"] :]
    test = stratified_subset(ds.test, cfg["n_test"], seed=0)

    def prep(texts: Any) -> tuple[list[list[str]], list[np.ndarray]]:
        words = [split_words(t) or ["."] for t in texts]
        return words, [np.asarray(tag_words(w, lex), np.int64) for w in words]

    return {"unl": prep(ds.train.x[unl_idx]), "test": prep(test.x), "cand": prep(ds.train.x[cand_idx])}


def _features(words: list[list[str]], tags: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """MiniLM word features; tags cut to the words that fit in 64 word-pieces."""
    from trustmap.adapt.featcache import word_features

    feats = word_features(words, max_len=64)
    return feats, [t[: len(f)] for f, t in zip(feats, tags)]


def _pick_labelled(cand: tuple[list[list[str]], list[np.ndarray]], shots: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    tags = cand[1]
    pos = [i for i, t in enumerate(tags) if (t[:40] == 1).any()]
    neg = [i for i, t in enumerate(tags) if (t[:40] == 2).any() and i not in set(pos)]
    return sorted(rng.choice(pos, shots, replace=False).tolist() + rng.choice(neg, shots, replace=False).tolist())


def _run(cfg: dict[str, int], corpus: dict[str, Any], s: int) -> list[dict[str, Any]]:
    from trustmap.adapt.sequst import SelfTrainConfig, predict_tags, self_train, span_f1, train_supervised

    unl_x, unl_y = _features(*corpus["unl"])
    test_x, test_y = _features(*corpus["test"])
    pick = _pick_labelled(corpus["cand"], cfg["shots"], s)
    lab_x, lab_y = _features([corpus["cand"][0][i] for i in pick], [corpus["cand"][1][i] for i in pick])
    st = SelfTrainConfig(
        rounds=cfg["rounds"], mc_passes=cfg["T"], teacher_steps=cfg["t_steps"], student_steps=cfg["s_steps"]
    )
    rows: list[dict[str, Any]] = []
    t0 = time.process_time()
    teacher = train_supervised(lab_x, lab_y, num_tags=3, seed=s, config=st)
    rows.append({"method": "supervised-only", "seed": s, **span_f1(predict_tags(teacher, test_x), test_y)})
    for mode, name in (("sequst", "sequst"), ("vanilla", "vanilla-self-training")):
        t1 = time.process_time()
        model, logs = self_train(
            lab_x, lab_y, unl_x, num_tags=3, mode=mode, seed=s, config=st, unl_gold=unl_y, teacher=teacher
        )
        row = {"method": name, "seed": s, **span_f1(predict_tags(model, test_x), test_y)}
        row["cpu_s"] = round(time.process_time() - t1, 1)
        if mode == "sequst":
            row["selected_precision"] = float(np.nanmean([g.selected_precision for g in logs]))
            row["rejected_precision"] = float(np.nanmean([g.rejected_precision for g in logs]))
            row["selected_fraction"] = float(np.mean([g.selected / max(g.selected + g.rejected, 1) for g in logs]))
        rows.insert(0 if mode == "sequst" else 1, row)
    prior = np.bincount(np.concatenate(lab_y), minlength=3) / sum(len(y) for y in lab_y)
    rng = np.random.default_rng(s)
    rand = [rng.choice(3, size=len(y), p=prior) for y in test_y]
    rows.append({"method": "random-tagger", "seed": s, **span_f1(rand, test_y)})
    rows[-2]["cpu_s"] = round(time.process_time() - t0, 1)  # supervised-only includes the shared teacher
    return rows


def _per_seed(runs: list[dict[str, Any]], method: str, key: str) -> list[float]:
    return [float(r[key]) for r in sorted(runs, key=lambda r: r["seed"]) if r["method"] == method]


def _diff(runs: list[dict[str, Any]], a: str, b: str) -> list[float]:
    return [100 * (u - v) for u, v in zip(_per_seed(runs, a, "f1"), _per_seed(runs, b, "f1"), strict=True)]


def sequst_checks(runs: list[dict[str, Any]]) -> list[Check]:
    prec = [
        100 * (float(r["selected_precision"]) - float(r["rejected_precision"]))
        for r in sorted(runs, key=lambda r: r["seed"])
        if r["method"] == "sequst"
    ]
    return [
        Check.over_seeds(
            "sanity: F1, supervised-only minus random tagger (points)",
            _diff(runs, "supervised-only", "random-tagger"),
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "sanity: F1, vanilla self-training minus random tagger (points)",
            _diff(runs, "vanilla-self-training", "random-tagger"),
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "F1, SeqUST minus vanilla self-training (points)",
            _diff(runs, "sequst", "vanilla-self-training"),
            threshold=3.0,
        ),
        Check.over_seeds(
            "F1, SeqUST minus supervised-only (points)", _diff(runs, "sequst", "supervised-only"), threshold=5.0
        ),
        Check.over_seeds("pseudo-label precision, selected minus rejected tokens (points)", prec, threshold=5.0),
    ]


def summary_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from trustmap.repro._stats import mean_interval

    rows = []
    for m in METHODS:
        f1 = _per_seed(runs, m, "f1")
        iv = mean_interval(f1)
        row = {
            "method": m,
            "f1": iv.mean,
            "f1_95": iv.text(),
            "precision": float(np.mean(_per_seed(runs, m, "precision"))),
            "recall": float(np.mean(_per_seed(runs, m, "recall"))),
            "f1_per_seed": [round(v, 4) for v in f1],
        }
        if m == "sequst":
            row["selected_precision"] = float(np.mean(_per_seed(runs, m, "selected_precision")))
            row["rejected_precision"] = float(np.mean(_per_seed(runs, m, "rejected_precision")))
        rows.append(row)
    return rows


@register_repro("sequst", title="SeqUST: uncertainty-aware self-training for sequence labelling", arxiv="2302.08659")
def sequst_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    corpus = _corpus(cfg)
    runs: list[dict[str, Any]] = []
    for k in range(cfg["runs"]):
        runs += _run(cfg, corpus, seed + k)
    tagged = float(np.mean(np.concatenate(corpus["test"][1]) > 0))
    return ReproResult(
        method="sequst",
        claim=CLAIM,
        rows=summary_rows(runs),
        checks=sequst_checks(runs),
        runs=runs,
        size=size,
        seeds=[seed + k for k in range(cfg["runs"])],
        seconds=time.perf_counter() - start,
        notes=(
            f"Silver-tagged RT (no token-labelled corpus installs offline; nltk/conllu wheels ship no corpora): "
            f"lexicon tags POS/NEG/O with negation flips; {2 * cfg['shots']} labelled snippets per run, "
            f"{cfg['n_unl']} unlabelled, {cfg['n_test']} test ({100 * tagged:.1f}% of test words tagged). "
            f"Frozen MiniLM word features + BiLSTM; {cfg['rounds']} rounds, T={cfg['T']}. Intervals: 95% Student t "
            "over runs."
        ),
    )
