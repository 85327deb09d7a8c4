"""``trustmap harden``: train (or wrap) a defended model and record what it bought and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trustmap.cli.choices import ids, with_choices
from trustmap.cli.context import console, open_store, seed_option


def harden(
    method: Annotated[str, typer.Option(help="Defence:")],
    data: Annotated[str, typer.Option(help="Image dataset name (or an .npz file).")],
    out: Annotated[Path, typer.Option(help="Output model: .pt2, .pt or .safetensors.")],
    arch: Annotated[str, typer.Option(help="Architecture:")] = "cnn",
    epochs: Annotated[
        int | None, typer.Option(help="Epochs (default: the defence's own, e.g. 5 adversarial, 6 InI).")
    ] = None,
    eps: Annotated[float, typer.Option(help="L-inf budget of adversarial training.")] = 0.1,
    train_size: Annotated[int | None, typer.Option(help="Train on a stratified subset of this many images.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Wrappers only: the trained model to wrap (default: train one).")
    ] = None,
    epsilon: Annotated[float | None, typer.Option(help="DP-SGD only: the privacy budget epsilon (default 8).")] = None,
    seed: Annotated[int, seed_option("Random seed: same seed, same model.")] = 0,
) -> None:
    """Harden a model against evasion (BAT, PGD-AT, TRADES) or stealing (InI, reverse sigmoid, top-1)."""
    from trustmap.defenses.registry import DEFENCES
    from trustmap.defenses.workflows import harden as run_harden

    result = run_harden(
        method,
        data=data,
        arch=arch,
        out=out,
        epochs=epochs,
        eps=eps,
        train_size=train_size,
        model=model,
        epsilon=epsilon,
        seed=seed,
        store=open_store(),
    )
    console.print(
        f"[green]saved[/] {escape(str(out))}  method={result.method}  test accuracy "
        f"[bold]{result.test_accuracy:.4f}[/] ({result.seconds:.0f} s, run {result.run_id}); audit it: "
        f"trustmap audit --model {escape(str(out))} --data {escape(data)}"
    )
    shown = [f"{k}={result.metrics[k]:.4g}" for k in DEFENCES.get(result.method).headline if k in result.metrics]
    if shown:
        console.print("  " + "  ".join(shown))


def _choices() -> dict[str, object]:
    def method() -> str:
        from trustmap.defenses.registry import defence_help

        return defence_help("harden") + "."

    def arch() -> str:
        from trustmap.models.architectures import ARCHS, for_kind

        return ARCHS.help(where=for_kind("image")) + "."

    def data() -> str:
        from trustmap.data import dataset_names

        return ids(dataset_names("image"), "Registered:")

    return {"method": method, "arch": arch, "data": data}


def register(app: typer.Typer) -> None:
    app.command("harden", cls=with_choices(**_choices()))(harden)
