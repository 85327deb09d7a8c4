"""run_text_task: name validation, model resolution, head lookup and tiny end-to-end runs."""

from __future__ import annotations

import pytest

from trustmap.errors import ModelError, TrustmapError
from trustmap.text import TEXT_TASKS, register_task, resolve_model, run_text_task


def test_model_names_resolve_to_backbone_and_method():
    assert resolve_model("minilm") == ("minilm", "full")
    assert resolve_model("minilm-lora") == ("minilm", "lora")
    assert resolve_model("minilm-lora-sp") == ("minilm", "lora-sp")
    with pytest.raises(TrustmapError, match="unknown text model 'minilm-zo-sgd'.*minilm-lora"):
        resolve_model("minilm-zo-sgd")  # zeroth-order methods are not first-order adaptation
    with pytest.raises(TrustmapError, match="unknown text model 'bert'"):
        resolve_model("bert")


def test_heads_live_on_the_architecture_registry():
    from trustmap.models.architectures import arch_names, head_for, register_arch

    assert head_for("minilm", "tagging").name == "minilm-tagger"
    assert head_for("minilm", "classification").name == "minilm"
    assert {"minilm-tagger", "minilm-span", "minilm-embedder"} <= set(arch_names("text"))
    with pytest.raises(ModelError, match="no span head is registered for backbone 'cnn'"):
        head_for("cnn", "span")
    with pytest.raises(ValueError, match="architecture task must be one of"):
        register_arch("x-gen", kinds=("text",), summary="s", task="generation")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "nope"}, "unknown text task 'nope'; choose from sentiment"),
        ({"task": "sentiment", "model": "gpt"}, "unknown text model 'gpt'"),
        ({"task": "sentiment", "data": "nope"}, "unknown dataset 'nope'"),
        ({"task": "sentiment", "data": "digits"}, "needs a text dataset"),
        ({"task": "sentiment", "model": "minilm-lora", "use_freezing": True}, "freezing trains the top layers"),
        ({"task": "sentiment", "use_freezing": True, "trainable_layers": 2}, "not both"),
        ({"task": "sentiment", "trainable_layers": 7}, "trainable_layers must be a whole number from 1 to 6"),
        ({"task": "sentiment", "train_size": 0}, "train_size must be"),
        ({"task": "sentiment", "epochs": True}, "epochs must be"),
        ({"task": "sentiment", "eval_split": "train"}, "eval_split must be test or dev"),
    ],
)
def test_bad_requests_fail_before_any_work(kwargs, message):
    with pytest.raises(TrustmapError, match=message):
        run_text_task(**kwargs)


def test_task_registry_validates():
    with pytest.raises(ValueError, match="unknown processor"):
        register_task("x-task", processor="nope", data="rotten-tomatoes", summary="s")
    with TEXT_TASKS.scoped():
        register_task("x-task", processor="label", data="rotten-tomatoes", summary="s")
        with pytest.raises(ValueError, match="already registered"):
            register_task("x-task", processor="label", data="rotten-tomatoes", summary="t")


def test_tagging_with_freezing_trains_top_layer_and_head_only():
    res = run_text_task(task="opinion-tags", use_freezing=True, train_size=12, test_size=8, seed=0, progress=False)
    top_layer = 1_774_464  # one MiniLM transformer layer (384 hidden, 1,536 intermediate)
    assert res.trainable == top_layer + 384 * 3 + 3
    assert 1 - res.trainable / res.total > 0.9
    assert res.application == "tagging" and res.metric == "f1" and 0.0 <= res.score <= 1.0
    assert res.n_train == 12 and res.method == "use_freezing"


def test_lora_model_adapts_through_the_adaptation_registry():
    res = run_text_task(task="opinion-span", model="minilm-lora", train_size=8, test_size=6, seed=0, progress=False)
    assert res.method == "lora" and res.trainable < 0.02 * res.total  # LoRA factors + span head
    assert res.metric == "exact_match" and 0.0 < res.baseline_score < 0.5
