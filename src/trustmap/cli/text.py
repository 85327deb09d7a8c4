"""``trustmap text TASK``: train and score any registered text task through one interface (trustmap.text).

Every option can also come from ``--config FILE.json`` (keys as in :func:`trustmap.text.run_text_task`,
e.g. ``{"task": "opinion-tags", "model": "minilm", "use_freezing": true}``); options given on the command
line win. ``trustmap text --list`` shows the tasks, processors, applications and text models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from trustmap.cli.context import console, esc, print_json, seed_option
from trustmap.errors import TrustmapError

CONFIG_KEYS = (
    "task",
    "model",
    "data",
    "train_size",
    "test_size",
    "epochs",
    "batch_size",
    "lr",
    "use_freezing",
    "trainable_layers",
    "max_len",
    "seed",
)


def read_config(path: Path) -> dict[str, Any]:
    """A JSON object of :data:`CONFIG_KEYS`; anything else is a one-line error."""
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustmapError(f"cannot read config {path}: {exc}") from None
    if not isinstance(cfg, dict):
        raise TrustmapError(f"config {path} must hold a JSON object, not {type(cfg).__name__}")
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise TrustmapError(f"config {path}: unknown keys {', '.join(unknown)}; use {', '.join(CONFIG_KEYS)}")
    return cfg


def _list() -> None:
    from trustmap.adapt.methods import METHODS
    from trustmap.text import APPLICATIONS, PROCESSORS, TEXT_TASKS

    for tid, info in TEXT_TASKS.items():
        console.print(f"task [bold]{tid}[/]: {esc(info.summary)} (processor {info.processor}, data {info.data})")
    console.print("processors: " + esc(PROCESSORS.help()))
    console.print("applications: " + esc(APPLICATIONS.help()))
    fo = [m for m, i in METHODS.items() if i.family == "fo" and m != "full"]
    console.print("models: minilm (full fine-tuning), " + ", ".join(f"minilm-{m}" for m in fo))


def text(
    task: Annotated[str | None, typer.Argument(help="Text task id (see --list).")] = None,
    model: Annotated[str | None, typer.Option(help="Backbone, or backbone-method (minilm-lora).")] = None,
    data: Annotated[str | None, typer.Option(help="Text dataset (default: the task's own).")] = None,
    train_size: Annotated[int | None, typer.Option(help="Training rows (default 1500).")] = None,
    test_size: Annotated[int | None, typer.Option(help="Test rows (default 1000).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 1).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default 16).")] = None,
    lr: Annotated[float | None, typer.Option(help="Encoder learning rate (default: the method's).")] = None,
    use_freezing: Annotated[
        bool | None, typer.Option("--use-freezing", help="Train only the top layer and the head.")
    ] = None,
    trainable_layers: Annotated[
        int | None, typer.Option(help="Train only the top N layers and the head (lower ones cached).")
    ] = None,
    seed: Annotated[int | None, seed_option("Seed of the subset, head and batch order.")] = None,
    config: Annotated[Path | None, typer.Option(help="JSON file of options (command-line options win).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List tasks, processors, applications and models.")] = False,
) -> None:
    """Train a text task (classification, tagging, span extraction, retrieval) and score it against a trivial baseline."""
    if list_:
        _list()
        return
    cfg = read_config(config) if config is not None else {}
    given = {
        "task": task,
        "model": model,
        "data": data,
        "train_size": train_size,
        "test_size": test_size,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "use_freezing": use_freezing,
        "trainable_layers": trainable_layers,
        "seed": seed,
    }
    cfg.update({k: v for k, v in given.items() if v is not None})
    if "task" not in cfg:
        raise TrustmapError("name a task: trustmap text TASK (see trustmap text --list)")
    from trustmap.text import run_text_task

    res = run_text_task(**cfg)
    out = {k: v for k, v in vars(res).items() if k not in ("net", "test")}
    if as_json:
        print_json(out)
        return
    console.print(
        f"{esc(res.task)} ({res.application}) with {esc(res.model)} on {esc(res.data)}: {res.metric} "
        f"[bold]{res.score:.4f}[/] vs {res.baseline} {res.baseline_score:.4f}; trainable {res.trainable:,} of "
        f"{res.total:,}; {res.n_train} training / {res.n_test} test rows; {res.seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("text")(text)
