"""``trustmap adapt``: efficiently adapt the pretrained MiniLM to a text dataset and save the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from trustmap.cli.choices import ids, with_choices
from trustmap.cli.context import console, open_store, seed_option


def adapt(
    method: Annotated[str, typer.Option(help="Adaptation method:")],
    data: Annotated[str, typer.Option(help="Text dataset name.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output .safetensors (LoRA-family, ZO and full models are merged "
            "into plain minilm weights; prefix methods keep their adapters)."
        ),
    ],
    deft: Annotated[
        Optional[float],
        typer.Option(
            help="Add DEFT's density loss with this weight (1.0 in the paper); first-order PEFT methods only."
        ),
    ] = None,
    train_size: Annotated[
        Optional[int], typer.Option(help="Train on this many stratified snippets (default: all).")
    ] = None,
    test_size: Annotated[
        Optional[int], typer.Option(help="Evaluate on this many stratified test snippets (default: all).")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs over the training data.")] = 1,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (default: the method's).")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 32,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank r.")] = 8,
    prefix_length: Annotated[int, typer.Option(help="Prefix length (prefix, apt).")] = 8,
    max_len: Annotated[int, typer.Option(help="Tokens per text.")] = 64,
    seed: Annotated[int, seed_option("Random seed: same seed, same model.")] = 0,
) -> None:
    """Adapt MiniLM with a PEFT, DEFT or zeroth-order method; report test accuracy and cost; save the model."""
    from trustmap.adapt.workflow import adapt_and_save

    res = adapt_and_save(
        method=method,
        data=data,
        out=out,
        deft=deft,
        train_size=train_size,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        rank=rank,
        prefix_length=prefix_length,
        max_len=max_len,
        seed=seed,
        test_size=test_size,
        store=open_store(),
    )
    extra = f", MLP density {res.density:.3f}" if res.density is not None else ""
    console.print(
        f"[green]saved[/] {escape(str(out))}  method={res.method}  test accuracy [bold]{res.test_accuracy:.4f}[/]  "
        f"trainable {res.trainable:,} of {res.total:,} parameters{extra} ({res.train_seconds:.0f} s, run {res.run_id})"
    )
    if not res.merged:
        console.print("prefix adapters cannot be merged: load this file with trustmap.adapt.workflow.load_adapted")


def _method_help() -> str:
    from trustmap.adapt.methods import METHODS

    return METHODS.help() + "."


def _data_help() -> str:
    from trustmap.data import dataset_names

    return ids(dataset_names("text"), "Registered:")


def register(app: typer.Typer) -> None:
    app.command("adapt", cls=with_choices(method=_method_help, data=_data_help))(adapt)
