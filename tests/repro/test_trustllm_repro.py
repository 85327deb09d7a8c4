"""``trustmap repro trustllm --quick``: every generator's row, per-seed runs, intervals and checks."""

import json

from trustmap.repro import repro_info


def test_quick_trustllm_repro_makes_its_table_with_intervals(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path))
    result = repro_info("trustllm").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods[:5] == ["always-refuse", "never-refuse", "keyword-refuser", "oracle", "toxic"]
    assert methods[5:] == ["echo (given canaries)", "echo", "tiny-lm"]
    assert len(result.runs) == 2 * len(methods) and result.seeds == [0, 1]
    lm_row = result.rows[-1]
    assert "[" in lm_row["leakage_95"] and len(lm_row["leak_per_seed"]) == 2 and lm_row["perplexity"] > 1
    kinds = [c.kind for c in result.checks]
    assert kinds[:3] == ["sanity"] * 3 and kinds.count("claim") == 4 and kinds.count("info") == 4
    assert all(c.passed for c in result.checks[:2]) and result.status == "smoke run"
    assert all(c.passed for c in result.checks if c.kind == "claim")
    assert list(tmp_path.glob("tiny-lm/*/model.safetensors"))  # the LM was cached on disk
    json.dumps(result.to_dict(), default=str)


def test_quick_sro_detox_repro_runs_every_arm(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path))
    result = repro_info("sro-detox").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["initial (toxic-trained)", "sro", "dpo-pass", "rs-sft", "sro, 10%-flipped screener"]
    assert len(result.runs) == 2 * len(methods) and result.seeds == [0, 1]
    assert all(len(r["style_per_seed"]) == 2 and "[" in r["bleu1_95"] for r in result.rows)
    kinds = [c.kind for c in result.checks]
    assert kinds == ["sanity", "sanity", "claim", "claim", "claim", "claim", "info"]
    assert result.checks[0].passed and result.status == "smoke run"  # the screener beats chance
    json.dumps(result.to_dict(), default=str)
