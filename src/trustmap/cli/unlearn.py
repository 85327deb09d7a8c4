"""``trustmap unlearn``: remove a class or a random fraction of the training data from a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, open_store
from trustmap.cli.context import seed_option


def unlearn(
    method: Annotated[
        str,
        typer.Option(help="sfr-on, gradient-ascent, finetune, salun-lite or retrain."),
    ],
    forget: Annotated[
        str,
        typer.Option(
            help="What to forget: class:K or random:F (a fraction of the training data)."
        ),
    ],
    model: Annotated[
        Path, typer.Option(help="The trained model (.pt2, .pt or .safetensors).")
    ],
    out: Annotated[Path, typer.Option(help="Output model.")],
    data: Annotated[
        str | None,
        typer.Option(help="Training dataset (default: the one the model records)."),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help="Unlearning steps (default 50 for class:K, 200 for random:F)."
        ),
    ] = None,
    seed: Annotated[int, seed_option()] = 0,
) -> None:
    """Unlearn part of a model's training data; audit the result to verify it (membership inference)."""
    from trustmap.defenses.workflows import unlearn as run_unlearn

    args = {
        "method": method,
        "forget": forget,
        "model": str(model),
        "out": str(out),
        "data": data,
        "steps": steps,
    }
    with open_store().run("unlearn", args=args, seed=seed) as run:
        result = run_unlearn(
            method,
            model=model,
            forget=forget,
            out=out,
            data=data,
            steps=steps,
            seed=seed,
        )
        run.dataset, run.dataset_sha256, run.model_sha256 = (
            result.dataset,
            result.dataset_sha256,
            result.model_sha256,
        )
        run.metrics = {"test_accuracy": result.test_accuracy, **result.metrics}
        run.timings = {"unlearn": result.seconds}
    m = result.metrics
    console.print(f"[green]saved[/] {out}  method={method}  forget accuracy [bold]{m['forget_accuracy']:.4f}[/], "
                  f"remaining accuracy {m['remain_accuracy']:.4f}, test accuracy {result.test_accuracy:.4f} (run {run.id})")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("unlearn")(unlearn)
