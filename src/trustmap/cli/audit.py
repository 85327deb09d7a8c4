"""``trustmap audit``: one command, one report across privacy, security, fairness and robustness."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trustmap.cli.context import (
    console,
    esc,
    no_new_folders_on_error,
    open_store,
    seed_option,
)
from trustmap.cli.choices import AUDIT_CHOICES, split_ids, with_choices


def audit(
    model: Annotated[Path, typer.Option(help="Model file: .pt, .pt2 or .safetensors.")],
    data: Annotated[
        str, typer.Option(help="Dataset name, user file (.npz, .csv, .parquet), graph .npz or image folder.")
    ],
    members: Annotated[Optional[Path], typer.Option(help=".npz of training members (x, y or indices).")] = None,
    nonmembers: Annotated[Optional[Path], typer.Option(help=".npz of non-members (x, y or indices).")] = None,
    sensitive: Annotated[Optional[str], typer.Option(help="Sensitive/group column (tables, image folders).")] = None,
    label: Annotated[Optional[str], typer.Option(help="Label column of a CSV/Parquet table.")] = None,
    config: Annotated[
        Optional[Path], typer.Option(help="TOML file: [audit] budget/probes, [probes.<id>] options.")
    ] = None,  # noqa: E501
    out: Annotated[Path, typer.Option(help="Folder for report.html and report.json.")] = Path("trustmap-report"),
    budget: Annotated[Optional[str], typer.Option(help="Audit budget (default standard).")] = None,
    probes: Annotated[
        Optional[str], typer.Option(help="Comma-separated probe ids (default: the budget's set).")
    ] = None,
    seed: Annotated[Optional[int], seed_option("Random seed: the same seed gives an identical JSON.")] = None,
    black_box: Annotated[bool, typer.Option("--black-box", help="Hide gradients: audit as a black-box model.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Recompute every probe instead of resuming.")] = False,
) -> None:
    """Run the probes and write one self-contained HTML report plus one JSON file."""
    from trustmap.audit.workflow import audit_files

    probe_ids = split_ids(probes)
    with no_new_folders_on_error(out):  # a refused audit leaves no empty --out folder behind
        outcome = audit_files(
            model=model,
            data=data,
            members=members,
            nonmembers=nonmembers,
            sensitive=sensitive,
            label=label,
            config=config,
            out=out,
            budget=budget,
            probes=probe_ids,
            seed=seed,
            black_box=black_box,
            fresh=fresh,
            store=open_store(),
            console=console,
        )
    console.print(f"[green]report[/] {esc(outcome.html)}\n[green]json[/]   {esc(outcome.json)}")


def register(app: typer.Typer) -> None:
    app.command("audit", cls=with_choices(**AUDIT_CHOICES))(audit)
