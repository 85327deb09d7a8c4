"""``trustmap eval``: accuracy and per-class accuracy of any model on any dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from trustmap.cli.context import console, esc, open_store, print_json


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

    res = evaluate_model(model, data, split=split, label=label, sensitive=sensitive or [], store=open_store())
    if as_json:
        print_json(
            {
                "accuracy": res.accuracy,
                "per_class_accuracy": dict(zip(res.classes, res.per_class_accuracy)),
                "n": res.n,
                "loss": res.loss,
                "dataset": res.dataset,
                "split": split,
                "model_sha256": res.model_sha256,
                "run_id": res.run_id,
            }
        )
        return
    table = Table(title=f"{esc(model.name)} on {esc(res.dataset)} ({esc(split)}, n={res.n})")
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    for name, acc in zip(res.classes, res.per_class_accuracy):
        table.add_row(esc(name), f"{acc:.4f}")
    table.add_row("[bold]all", f"[bold]{res.accuracy:.4f}")
    console.print(table)
