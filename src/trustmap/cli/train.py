"""``trustmap train``: train an architecture on a dataset and save it safely."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trustmap.cli.context import console, esc, open_store, seed_option


def train(
    data: Annotated[str, typer.Option(help="Dataset name (`trustmap data list`) or a user file.")],
    out: Annotated[
        Path,
        typer.Option(help="Output model: .pt2 (torch.export), .pt (TorchScript) or .safetensors (text, graphs)."),
    ],
    arch: Annotated[
        Optional[str],
        typer.Option(
            help="Architecture: cnn, cnn-s, mlp, logreg, minilm; for graph data (csbm, karate-club, a graph .npz) "
            "a node classifier: gcn, gcn-jaccard, gnnguard-lite, rgcn, gagn."
        ),
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs (default: the recipe for this arch).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate (default: the recipe).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size (default: the recipe).")] = None,
    seed: Annotated[int, seed_option("Random seed: same seed, same model.")] = 0,
    member_fraction: Annotated[
        Optional[float],
        typer.Option(
            help="Train on this stratified fraction of the training split only and write the "
            "member/non-member index files beside --out, for membership audits."
        ),
    ] = None,
    label: Annotated[Optional[str], typer.Option(help="Label column of a CSV/Parquet table.")] = None,
    sensitive: Annotated[Optional[list[str]], typer.Option(help="Sensitive column(s) of a table.")] = None,
    poison: Annotated[
        Optional[str],
        typer.Option(
            help="Build a backdoored model (for demos and tests): poison "
            "the training data with a patch or blend trigger."
        ),
    ] = None,
    poison_target: Annotated[Optional[int], typer.Option(help="Backdoor target class (default 0).")] = None,
    poison_rate: Annotated[
        Optional[float], typer.Option(help="Fraction of training data poisoned (default 0.1).")
    ] = None,
) -> None:
    """Train a model with the one seeded training loop, evaluate it on the test split and save it."""
    from trustmap.attacks.backdoor import poisoning
    from trustmap.models.workflows import train_and_save
    from trustmap.utils.seed import check_seed

    result = train_and_save(
        data,
        out=out,
        arch=arch,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        member_fraction=member_fraction,
        label=label,
        sensitive=sensitive or [],
        store=open_store(),
        poison=poisoning(poison, target=poison_target, rate=poison_rate, seed=check_seed(seed)),
    )
    console.print(
        f"[green]saved[/] {esc(out)}  arch={esc(result.arch)}  test accuracy [bold]{result.test_accuracy:.4f}[/] "
        f"({result.train_seconds:.0f} s training, run {result.run_id})"
    )
    if result.members_file:
        console.print(f"member split: {esc(result.members_file)} and {esc(result.nonmembers_file)}")
