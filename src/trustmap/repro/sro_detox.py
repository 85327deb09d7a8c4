"""``trustmap repro sro-detox``: Stackelberg Response Optimisation for detoxification on non-parallel data
(Xu et al., arXiv 2410.20298) against rejection-sampling SFT (SFT on screener-filtered samples) and
DPO on passing samples only, on a tiny word-level rewriter (:mod:`trustmap.llm.sro`).

Data (synthetic toxicity; RT has no toxicity labels): RT training snippets of 5-20 words scoring < 0.2
with alt-profanity-check, toxified by inserting 1-2 of 30 insult words (seeded). The rewriter is first
trained as a denoising paraphraser on a toxic-containing corpus (30% toxified; it copies insults), once,
and cached; each run then fine-tunes it with each method on toxic inputs only (non-parallel), screened by
a bag-of-words logistic regression. The judge (alt-profanity-check) is never seen by the policy.

Metrics on held-out toxic inputs (greedy rewrites): style accuracy = judge probability < 0.5; content =
BLEU-1 against the clean source; fluency = perplexity under a reference LM trained on the clean corpus
(report-only); SRO with a screener trained on 10%-flipped labels (report-only, quick size only at present; the paper reports SRO's sensitivity to the screener). Default
fine-tuning is 100 steps of batch 16, not methods.md's 200, to fit the CPU budget of a shared machine.

Checks: sanity -- the screener beats chance on held-out pairs; the toxic-trained rewriter is measurably
more toxic (judge) than the clean sources. Claims (methods.md) -- SRO style accuracy >= rejection-SFT + 10
points and >= DPO-pass-only + 5 points; SRO BLEU-1 no more than 5 points below each baseline's.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from trustmap.data import load_dataset
from trustmap.llm.lm import LMConfig, cached, cached_lm, words
from trustmap.llm.sro import INSULTS, METHODS, Screener, bleu1, fine_tune, pretrain_rewriter, rewrite, toxify
from trustmap.llm.trust import toxicity
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed

POLICY = LMConfig(vocab_size=1500, max_len=48, d=64, heads=4, layers=2, steps=1500, batch_size=32, dropout=0.0)
REFERENCE = LMConfig(vocab_size=1500, max_len=24, d=64, heads=4, layers=2, steps=800, batch_size=32)
SIZES: dict[str, dict[str, Any]] = {
    "default": {
        "seeds": 3,
        "screen": 1000,
        "tune": 1000,
        "eval": 300,
        "steps": 100,
        "flipped": False,
        "policy": POLICY,
        "reference": REFERENCE,
        "limit": None,
    },
    "quick": {
        "seeds": 2,
        "screen": 100,
        "tune": 100,
        "eval": 24,
        "steps": 3,
        "flipped": True,
        "policy": LMConfig(vocab_size=300, max_len=48, d=32, heads=2, layers=1, steps=10, batch_size=16, dropout=0.0),
        "reference": LMConfig(vocab_size=300, max_len=24, d=16, heads=2, layers=1, steps=5, batch_size=16),
        "limit": 900,
    },
}


def _neutral(limit: int | None) -> list[str]:
    texts = [" ".join(words(t)) for t in load_dataset("rotten-tomatoes").train.x[:limit]]
    texts = [t for t in dict.fromkeys(texts) if 5 <= len(t.split()) <= 20]
    return [t for t, p in zip(texts, toxicity(texts)) if p < 0.2]


def _score(policy, inputs: list[str], sources: list[str], ref) -> dict[str, float]:
    outs = rewrite(policy, inputs)
    judge = toxicity(outs)
    return {
        "style_acc": float((judge < 0.5).mean()),
        "bleu1": float(np.mean([bleu1(o, s) for o, s in zip(outs, sources)])),
        "toxicity": float(judge.mean()),
        "ref_perplexity": ref.perplexity(outs),
    }


def _minus(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]


@register_repro(
    "sro-detox",
    title="Learning from Response not Preference: A Stackelberg Approach for LLM Detoxification",
    arxiv="2410.20298",
)
def sro_detox_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    neutral = _neutral(cfg["limit"])
    n_hold = cfg["screen"] + cfg["tune"] + cfg["eval"]
    pool, held = neutral[:-n_hold], neutral[-n_hold:]  # fixed split (the corpus order is the RT split's)
    screen_src, tune_src, eval_src = np.split(
        np.array(held, dtype=object), [cfg["screen"], cfg["screen"] + cfg["tune"]]
    )
    key = hashlib.sha256(json.dumps([asdict(cfg["policy"]), pool]).encode()).hexdigest()[:20]
    policy = cached(f"rewriter-{key}", lambda: pretrain_rewriter(pool, config=cfg["policy"], seed=0))
    ref = cached_lm(pool, config=cfg["reference"], seed=0, reserved=INSULTS)
    seeds = [seed + i for i in range(cfg["seeds"])]
    arms = ["initial (toxic-trained)", *METHODS] + (["sro, 10%-flipped screener"] if cfg["flipped"] else [])
    runs: list[dict[str, Any]] = []
    with progress_bar("sro-detox", total=len(seeds) * len(arms), enabled=progress) as tick:
        for s in seeds:
            rng = random.Random(derive_seed(s, 11))
            screen_toxic = [toxify(t, rng) for t in screen_src]
            tune_inputs = [toxify(t, rng) for t in tune_src]
            eval_inputs = [toxify(t, rng) for t in eval_src]
            screener = Screener.fit(list(screen_src), screen_toxic)
            acc = (screener.passes(list(eval_src)).mean() + (~screener.passes(eval_inputs)).mean()) / 2
            source_tox = float(toxicity(list(eval_src)).mean())
            for arm in arms:
                extra: dict[str, float] = {}
                if arm.startswith("initial"):
                    tuned = policy
                else:
                    passes = screener.passes
                    if arm.startswith("sro,"):
                        passes = Screener.fit(list(screen_src), screen_toxic, flip=0.1, seed=s).passes
                    tuned, extra["train_pass_rate"] = fine_tune(
                        policy, tune_inputs, passes=passes, method=arm.split(",")[0], steps=cfg["steps"], seed=s
                    )
                row = {"seed": s, "method": arm, **_score(tuned, eval_inputs, list(eval_src), ref), **extra}
                runs.append({**row, "screener_acc": float(acc), "source_toxicity": source_tox})
                tick()
    per = {a: [r for r in runs if r["method"] == a] for a in arms}

    def vals(a: str, k: str) -> list[float]:
        return [float(r[k]) for r in per[a]]

    rows = []
    for a in arms:
        row: dict[str, Any] = {"method": a}
        for k in ("style_acc", "bleu1", "toxicity", "ref_perplexity"):
            iv = mean_interval(vals(a, k))
            row[k], row[f"{k}_95"] = iv.mean, iv.text()
        row["style_per_seed"] = [round(v, 3) for v in vals(a, "style_acc")]
        rows.append(row)
    init = arms[0]

    def diff(a: str, b: str, k: str) -> list[float]:
        return _minus(vals(a, k), vals(b, k))

    checks = [
        Check.over_seeds(
            "sanity: screener held-out accuracy minus chance",
            [v - 0.5 for v in vals(init, "screener_acc")],
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "sanity: toxic-trained rewriter's judge toxicity minus the clean sources'",
            _minus(vals(init, "toxicity"), vals(init, "source_toxicity")),
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "style accuracy, SRO minus rejection-SFT (paired)", diff("sro", "rs-sft", "style_acc"), threshold=0.10
        ),
        Check.over_seeds(
            "style accuracy, SRO minus DPO-pass-only (paired)", diff("sro", "dpo-pass", "style_acc"), threshold=0.05
        ),
        Check.over_seeds("BLEU-1, SRO minus rejection-SFT (paired)", diff("sro", "rs-sft", "bleu1"), threshold=-0.05),
        Check.over_seeds("BLEU-1, SRO minus DPO-pass-only (paired)", diff("sro", "dpo-pass", "bleu1"), threshold=-0.05),
    ]
    if cfg["flipped"]:
        checks.append(
            Check.over_seeds(
                "style accuracy, SRO with 10%-flipped screener minus SRO (report only)",
                diff("sro, 10%-flipped screener", "sro", "style_acc"),
                threshold=0.0,
                kind="info",
            )
        )
    pc = cfg["policy"]
    return ReproResult(
        method="sro-detox",
        claim="On non-parallel toxic inputs, SRO detoxifies better than rejection-sampling SFT (>= 10 points "
        "style accuracy) and DPO on passing samples only (>= 5 points) while keeping content (BLEU-1 within 5).",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=time.perf_counter() - start,
        notes=f"Synthetic toxicity: {len(neutral)} neutral RT snippets (5-20 words, judge < 0.2), 1-2 of 30 insult "
        f"words inserted (seeded). Pools: {len(pool)} pretraining, {cfg['screen']} screener, {cfg['tune']} "
        f"fine-tuning (toxic inputs only), {cfg['eval']} evaluation. Rewriter: word GPT, {pc.layers} layers, "
        f"d={pc.d}, vocabulary {pc.vocab_size}, {pc.steps} denoising steps (30% toxified corpus), pretrained once "
        f"(seed 0) and shared by the runs. Fine-tuning: {cfg['steps']} steps (methods.md: 200), batch 16, Adam lr 1e-4, beta 0.1, "
        "temperature-1 samples. Screener: bag-of-words logistic regression (P(toxic) < 0.5 passes); judge: "
        "alt-profanity-check. Style accuracy: judge < 0.5 on greedy rewrites; BLEU-1 against the clean source.",
    )
