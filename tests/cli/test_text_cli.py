"""``trustmap text``: the listing and one tiny run switched by a config file."""

from __future__ import annotations

import json

from tests.cli.helpers import run_cli


def test_list_names_tasks_processors_applications_and_models(capfd):
    res = run_cli(capfd, "text", "--list")
    assert res.code == 0
    for word in ("sentiment", "opinion-tags", "opinion-span", "movie-retrieval", "minilm-lora", "exact_match"):
        assert word in res.out, word


def test_config_file_switches_the_task_and_the_command_line_wins(capfd, tmp_path):
    cfg = tmp_path / "task.json"
    cfg.write_text(json.dumps({"task": "sentiment", "use_freezing": True, "train_size": 6, "test_size": 50}))
    res = run_cli(capfd, "text", "--config", str(cfg), "--task-size-is-not-an-option")
    assert res.code == 2  # unknown options are refused
    res = run_cli(capfd, "text", "opinion-tags", "--config", str(cfg), "--test-size", "4", "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["task"] == "opinion-tags" and out["application"] == "tagging" and out["method"] == "use_freezing"
    assert out["n_test"] == 4 and out["trainable"] < 0.1 * out["total"]
