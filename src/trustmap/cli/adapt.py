"""``trustmap adapt``: efficiently adapt the pretrained MiniLM to a text dataset and save the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trustmap.cli.context import console, open_store
from trustmap.cli.context import seed_option


def adapt(
    method: Annotated[str, typer.Option(help="lora, lora-sp, prefix, apt, full, fo-sgd, zo-sgd, zo-sgd-sign, "
                                        "zo-sgd-mmt, zo-adam, zo-block, zo-sparse, fg.")],  # fmt: skip
    data: Annotated[str, typer.Option(help="Text dataset name, e.g. rotten-tomatoes.")],
    out: Annotated[Path, typer.Option(help="Output .safetensors (LoRA-family, ZO and full models are merged "
                                      "into plain minilm weights; prefix methods keep their adapters).")],  # fmt: skip
    deft: Annotated[Optional[float], typer.Option(help="Add DEFT's density loss with this weight (1.0 in the "
                                                       "paper); first-order PEFT methods only.")] = None,  # fmt: skip
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

    args = {"method": method, "data": data, "out": str(out), "deft": deft, "train_size": train_size,
            "test_size": test_size, "epochs": epochs, "lr": lr, "batch_size": batch_size, "rank": rank,
            "prefix_length": prefix_length, "max_len": max_len}  # fmt: skip
    with open_store().run("adapt", args=args, seed=seed) as run:
        res = adapt_and_save(
            method=method, data=data, out=out, deft=deft, train_size=train_size, epochs=epochs, lr=lr,
            batch_size=batch_size, rank=rank, prefix_length=prefix_length, max_len=max_len, seed=seed,
            test_size=test_size,
        )  # fmt: skip
        run.dataset, run.dataset_sha256, run.model_sha256 = res.dataset, res.dataset_sha256, res.model_sha256
        run.metrics = {"test_accuracy": res.test_accuracy, "trainable": res.trainable, "total": res.total,
                       "optimizer_state_bytes": res.optimizer_state_bytes}  # fmt: skip
        if res.density is not None:
            run.metrics["density"] = res.density
        run.timings = {"train": res.train_seconds}
    extra = f", MLP density {res.density:.3f}" if res.density is not None else ""
    console.print(
        f"[green]saved[/] {out}  method={method}  test accuracy [bold]{res.test_accuracy:.4f}[/]  trainable "
        f"{res.trainable:,} of {res.total:,} parameters{extra} ({res.train_seconds:.0f} s, run {run.id})"
    )
    if not res.merged:
        console.print("prefix adapters cannot be merged: load this file with trustmap.adapt.workflow.load_adapted")


def register(app: typer.Typer) -> None:
    app.command("adapt")(adapt)
