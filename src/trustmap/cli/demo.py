"""``trustmap demo``: the main job end to end on the reference Fashion-MNIST model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import (
    console,
    esc,
    no_new_folders_on_error,
    open_store,
    seed_option,
)
from trustmap.errors import TrustmapError


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the reference model and the report.")] = Path("demo-out"),
    budget: Annotated[str, typer.Option(help="Audit budget: quick | standard | thorough.")] = "standard",
    seed: Annotated[int, seed_option()] = 0,
) -> None:
    """Train the reference Fashion-MNIST CNN on its documented member split (half of the training set,
    reused if present), then audit it across privacy, security, fairness and robustness."""
    from trustmap.audit.workflow import audit_files
    from trustmap.models.workflows import member_files, train_and_save
    from trustmap.probes.base import BUDGET_NAMES

    if budget not in BUDGET_NAMES:  # before the minutes of training, not after
        raise TrustmapError(f"unknown budget {budget!r}; use {', '.join(BUDGET_NAMES)}")
    model = out / "fashion-cnn.pt2"
    members, nonmembers = member_files(model)
    store = open_store()
    with no_new_folders_on_error(out):
        if not (model.exists() and members.exists() and nonmembers.exists()):
            console.print("[bold]1/2[/] training the reference model: cnn on half of Fashion-MNIST (the members)")
            result = train_and_save("fashion-mnist", out=model, arch="cnn", seed=seed, member_fraction=0.5, store=store)
            console.print(
                f"[green]saved[/] {esc(model)}  test accuracy [bold]{result.test_accuracy:.4f}[/] (run {result.run_id})"
            )
        else:
            console.print(f"[bold]1/2[/] reusing {esc(model)} and its member split (delete the folder to retrain)")
        console.print(f"[bold]2/2[/] auditing it (budget {esc(budget)})")
        outcome = audit_files(
            model=model,
            data="fashion-mnist",
            members=members,
            nonmembers=nonmembers,
            out=out / "report",
            budget=budget,
            seed=seed,
            store=store,
            console=console,
        )
    console.print(f"[green]report[/] {esc(outcome.html)}\n[green]json[/]   {esc(outcome.json)}")
