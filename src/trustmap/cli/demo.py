"""``trustmap demo``: the main job end to end on the reference Fashion-MNIST model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the reference model and the report.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train the reference Fashion-MNIST CNN on its member split (reused if present); print its metrics."""
    from trustmap.cli.evaluate import evaluate
    from trustmap.cli.train import train

    model = out / "fashion-cnn.pt2"
    if not model.exists():
        train(data="fashion-mnist", out=model, arch="cnn", seed=seed, member_fraction=0.5,
              epochs=None, lr=None, batch_size=None, label=None, sensitive=None)  # fmt: skip
    else:
        console.print(f"reusing {model} (delete it to retrain)")
    evaluate(model=model, data="fashion-mnist", split="test", as_json=False, label=None, sensitive=None)
