"""``trustmap demo``: the main job end to end on the reference Fashion-MNIST model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, open_store


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the reference model and the report.")] = Path("demo-out"),
    budget: Annotated[str, typer.Option(help="Audit budget: quick | standard | thorough.")] = "standard",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train the reference Fashion-MNIST CNN on its documented member split (half of the training set,
    reused if present), then audit it across privacy, security, fairness and robustness."""
    from trustmap.audit.workflow import audit_files
    from trustmap.cli.train import train
    from trustmap.models.workflows import member_files

    model = out / "fashion-cnn.pt2"
    members, nonmembers = member_files(model)
    if not (model.exists() and members.exists() and nonmembers.exists()):
        console.print("[bold]1/2[/] training the reference model: cnn on half of Fashion-MNIST (the members)")
        train(data="fashion-mnist", out=model, arch="cnn", seed=seed, member_fraction=0.5, epochs=None, lr=None,
              batch_size=None, label=None, sensitive=None)  # fmt: skip
    else:
        console.print(f"[bold]1/2[/] reusing {model} and its member split (delete the folder to retrain)")
    console.print(f"[bold]2/2[/] auditing it (budget {budget})")
    outcome = audit_files(model=model, data="fashion-mnist", members=members, nonmembers=nonmembers,
                          out=out / "report", budget=budget, seed=seed, store=open_store(), console=console)  # fmt: skip
    console.print(f"[green]report[/] {outcome.html}\n[green]json[/]   {outcome.json}")
