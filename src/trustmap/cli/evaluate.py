"""``trustmap eval``: accuracy and per-class accuracy of any model on any dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from trustmap.cli.context import console, open_store, print_json


def evaluate(
    model: Annotated[Path, typer.Option(help="Model file: .pt, .pt2 or .safetensors.")],
    data: Annotated[str, typer.Option(help="Dataset name or a user file (.npz with x and y).")],
    split: Annotated[str, typer.Option(help="Which split to evaluate: test or train.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object (top-level `accuracy`).")] = False,
    label: Annotated[Optional[str], typer.Option(help="Label column of a CSV/Parquet table.")] = None,
    sensitive: Annotated[Optional[list[str]], typer.Option(help="Sensitive column(s) of a table.")] = None,
) -> None:
    """Print accuracy and per-class accuracy."""
    from trustmap.models.workflows import evaluate_model

    with open_store().run("eval", args={"model": str(model), "data": data, "split": split}) as run:
        res = evaluate_model(model, data, split=split, label=label, sensitive=sensitive or [])
        run.dataset, run.dataset_sha256, run.model_sha256 = res.dataset, res.dataset_sha256, res.model_sha256
        run.metrics = {"accuracy": res.accuracy, "loss": res.loss, "n": res.n}
    if as_json:
        print_json({"accuracy": res.accuracy, "per_class_accuracy": dict(zip(res.classes, res.per_class_accuracy)),
                    "n": res.n, "loss": res.loss, "dataset": res.dataset, "split": split,
                    "model_sha256": res.model_sha256, "run_id": run.id})  # fmt: skip
        return
    table = Table(title=f"{model.name} on {res.dataset} ({split}, n={res.n})")
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    for name, acc in zip(res.classes, res.per_class_accuracy):
        table.add_row(name, f"{acc:.4f}")
    table.add_row("[bold]all", f"[bold]{res.accuracy:.4f}")
    console.print(table)
