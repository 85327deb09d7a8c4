"""``trustmap harden``: train (or wrap) a defended model and record what it bought and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, open_store
from trustmap.cli.context import seed_option


def harden(
    method: Annotated[
        str,
        typer.Option(
            help="bat, pgd-at, trades, frl-lite (adversarial training); ini (anti-stealing "
            "training); reverse-sigmoid, top1 (output-perturbation wrappers)."
        ),
    ],
    data: Annotated[str, typer.Option(help="Image dataset name, e.g. fashion-mnist.")],
    out: Annotated[Path, typer.Option(help="Output model: .pt2, .pt or .safetensors.")],
    arch: Annotated[str, typer.Option(help="Architecture: cnn, cnn-s, mlp.")] = "cnn",
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Epochs (default: 5 adversarial, 6 InI, recipe for wrappers)."
        ),
    ] = None,
    eps: Annotated[
        float, typer.Option(help="L-inf budget of adversarial training.")
    ] = 0.1,
    train_size: Annotated[
        int | None,
        typer.Option(help="Train on a stratified subset of this many images."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="Wrappers only: the trained model to wrap (default: train one)."
        ),
    ] = None,
    seed: Annotated[int, seed_option("Random seed: same seed, same model.")] = 0,
) -> None:
    """Harden a model against evasion (BAT, PGD-AT, TRADES) or stealing (InI, reverse sigmoid, top-1)."""
    from trustmap.defenses.workflows import harden as run_harden

    args = {"method": method, "data": data, "arch": arch, "out": str(out), "epochs": epochs, "eps": eps,
            "train_size": train_size, "model": str(model) if model else None}  # fmt: skip
    with open_store().run("harden", args=args, seed=seed) as run:
        result = run_harden(method, data=data, arch=arch, out=out, epochs=epochs, eps=eps, train_size=train_size,
                            model=model, seed=seed)  # fmt: skip
        run.dataset, run.dataset_sha256, run.model_sha256 = (
            result.dataset,
            result.dataset_sha256,
            result.model_sha256,
        )
        run.metrics = {"test_accuracy": result.test_accuracy, **result.metrics}
        run.timings = {"defence": result.seconds}
    console.print(f"[green]saved[/] {out}  method={method}  test accuracy [bold]{result.test_accuracy:.4f}[/] "
                  f"({result.seconds:.0f} s, run {run.id}); audit it: trustmap audit --model {out} --data {data}")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("harden")(harden)
