"""``trustmap unlearn``: remove a class or a random fraction of the training data from a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trustmap.cli.choices import with_choices
from trustmap.cli.context import console, open_store, seed_option


def unlearn(
    method: Annotated[str, typer.Option(help="Unlearning method:")],
    forget: Annotated[str, typer.Option(help="What to forget: class:K or random:F (a fraction of the training data).")],
    model: Annotated[Path, typer.Option(help="The trained model (.pt2, .pt or .safetensors).")],
    out: Annotated[Path, typer.Option(help="Output model.")],
    data: Annotated[str | None, typer.Option(help="Training dataset (default: the one the model records).")] = None,
    steps: Annotated[
        int | None, typer.Option(help="Unlearning steps (default 50 for class:K, 200 for random:F).")
    ] = None,
    seed: Annotated[int, seed_option()] = 0,
) -> None:
    """Unlearn part of a model's training data; audit the result to verify it (membership inference)."""
    from trustmap.defenses.workflows import unlearn as run_unlearn

    result = run_unlearn(
        method, model=model, forget=forget, out=out, data=data, steps=steps, seed=seed, store=open_store()
    )
    m = result.metrics
    console.print(
        f"[green]saved[/] {escape(str(out))}  method={result.method}  forget accuracy "
        f"[bold]{m['forget_accuracy']:.4f}[/], remaining accuracy {m['remain_accuracy']:.4f}, "
        f"test accuracy {result.test_accuracy:.4f} (run {result.run_id})"
    )


def _method_help() -> str:
    from trustmap.defenses.registry import defence_help

    return defence_help("unlearn") + "."


def register(app: typer.Typer) -> None:
    app.command("unlearn", cls=with_choices(method=_method_help))(unlearn)
