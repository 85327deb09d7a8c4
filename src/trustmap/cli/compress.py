"""``trustmap compress``: compress a fine-tuned MiniLM's weight delta with DeltaDQ, or apply a delta back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, esc, seed_option
from trustmap.errors import TrustmapError


def compress(
    out: Annotated[
        Path, typer.Option(help="Output .safetensors: the compressed delta, or with --apply the restored model.")
    ],
    model: Annotated[
        Path | None,
        typer.Argument(help="Fine-tuned minilm model (.safetensors, e.g. from `trustmap adapt --method full`)."),
    ] = None,
    apply: Annotated[
        Path | None,
        typer.Option("--apply", help="Add this compressed delta to the pretrained MiniLM and save the model to --out."),
    ] = None,
    ratio: Annotated[
        float, typer.Option(help="Target compression ratio (16 bits x delta entries / stored bits).")
    ] = 16.0,
    bits: Annotated[
        int | None,
        typer.Option(help="Bits per surviving entry: 1, 2, 4 or 8 (default: chosen on calibration data)."),
    ] = None,
    group: Annotated[
        int | None,
        typer.Option(help="Dropout group size; 0 = whole row (default: chosen per layer on calibration data)."),
    ] = None,
    calib_size: Annotated[int, typer.Option(help="Training snippets whose layer inputs calibrate the choice.")] = 64,
    test_size: Annotated[
        int, typer.Option(help="Test snippets for the accuracy report (0: skip the evaluation).")
    ] = 1000,
    data: Annotated[
        str, typer.Option(help="Text dataset for calibration and the accuracy report.")
    ] = "rotten-tomatoes",
    seed: Annotated[int, seed_option("Seed of the dropout masks: same seed, same delta.")] = 0,
) -> None:
    """Compress MODEL's delta to the pretrained MiniLM (DeltaDQ, arXiv 2410.08666); report ratio and accuracy."""
    if (model is None) == (apply is None):
        raise TrustmapError("give either a fine-tuned MODEL to compress or --apply DELTA to restore one, not both")
    if apply is not None:
        from trustmap.compress.workflow import apply_delta_file

        apply_delta_file(apply, out=out)
        console.print(f"[green]saved[/] {esc(out)}: pretrained MiniLM + the delta in {esc(apply)}")
        return
    if test_size < 0:
        raise TrustmapError(f"--test-size must be >= 0, got {test_size}")
    from trustmap.compress.workflow import compress_model_file

    assert model is not None
    res = compress_model_file(
        model,
        out=out,
        ratio=ratio,
        bits=bits,
        group=group,
        calib_size=calib_size,
        test_size=test_size or None,
        data=data,
        seed=seed,
    )
    groups = ", ".join(f"{'row' if g == 0 else g}: {n}" for g, n in sorted(res.groups.items()))
    console.print(
        f"[green]saved[/] {esc(out)}  ratio [bold]{res.ratio:.1f}x[/] ({res.bits_per_entry:.3f} bits per delta entry, "
        f"{res.delta_entries:,} entries, {res.bits}-bit codes, groups {groups}; file {res.file_bytes:,} bytes)"
    )
    if res.original_accuracy is not None and res.compressed_accuracy is not None:
        console.print(
            f"test accuracy: fine-tuned {res.original_accuracy:.4f}, compressed [bold]{res.compressed_accuracy:.4f}[/] "
            f"({100 * (res.compressed_accuracy - res.original_accuracy):+.1f} points)"
        )


def register(app: typer.Typer) -> None:
    app.command("compress")(compress)
