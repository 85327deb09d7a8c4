"""``trustmap diffusion train`` and ``trustmap diffusion sample``: small DDPMs on Fashion-MNIST (diffusers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, esc, print_json, seed_option
from trustmap.errors import OutputError, TrustmapError

app = typer.Typer(help="Small DDPMs on Fashion-MNIST: train, sample, measure.", no_args_is_help=True)


@app.command("train")
def train(
    out: Annotated[Path, typer.Option(help="Folder for model.safetensors + config.json.")],
    image_size: Annotated[int, typer.Option(help="14 (FM14, 2x2-pooled, 4x faster) or 28.")] = 14,
    conditional: Annotated[bool, typer.Option(help="Class-conditional (num_class_embeds) or not.")] = False,
    text: Annotated[
        bool, typer.Option("--text", help="Text-conditioned on MiniLM states of class-name captions.")
    ] = False,
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate (cosine schedule).")] = 2e-3,
    n_train: Annotated[int, typer.Option(help="Fashion-MNIST training images used.")] = 60000,
    seed: Annotated[int, seed_option()] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train a DDPM (UNet2DModel, T=1000) on Fashion-MNIST and save it (safetensors + JSON, no pickle)."""
    import time

    from trustmap.diffusion import DDPMConfig, fm_images, save_ddpm, train_ddpm
    from trustmap.diffusion.text import train_text_ddpm

    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file; give a folder for the model")
    if text and conditional:
        raise TrustmapError("choose --conditional (class labels) or --text (captions), not both")
    config = DDPMConfig(
        image_size=image_size,
        conditional=conditional,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        n_train=n_train,
        seed=seed,
    )
    start = time.perf_counter()
    x, y = fm_images(image_size, split="train", n=n_train)
    fit = train_text_ddpm if text else train_ddpm
    model = fit(x, y, config, progress=None if not as_json else False)
    save_ddpm(model, out)
    seconds = time.perf_counter() - start
    if as_json:
        print_json({"out": str(out), "config": config.to_dict(), "seconds": seconds})
        return
    kind = "text-conditioned" if text else "class-conditional" if conditional else "unconditional"
    console.print(f"[green]saved[/] {kind} DDPM ({steps} steps, {seconds:.0f} s) to {esc(out)}")


def _labels(spec: str | None, n: int, conditional: bool):
    import torch

    if not conditional:
        if spec:
            raise TrustmapError("this DDPM is unconditional; drop --labels")
        return None
    if not spec:
        return torch.arange(n) % 10
    try:
        values = [int(v) for v in spec.split(",") if v.strip()]
    except ValueError as exc:
        raise TrustmapError(f"--labels must be comma-separated classes 0-9, got {spec!r}") from exc
    if not values or any(not 0 <= v <= 9 for v in values):
        raise TrustmapError(f"--labels must be comma-separated classes 0-9, got {spec!r}")
    return torch.tensor([values[i % len(values)] for i in range(n)])


def _conditions(ddpm, labels: str | None, captions: str | None, n: int):
    from trustmap.diffusion.text import TextDDPM, caption

    if not isinstance(ddpm, TextDDPM):
        if captions:
            raise TrustmapError("--captions needs a text-conditioned model; this one takes --labels or nothing")
        return _labels(labels, n, ddpm.config.conditional)
    if labels:
        raise TrustmapError("this DDPM is text-conditioned; give --captions instead of --labels")
    texts = [c.strip() for c in captions.split(";") if c.strip()] if captions else [caption(i) for i in range(10)]
    if not texts:
        raise TrustmapError("--captions must hold at least one non-empty caption")
    return ddpm.encode([texts[i % len(texts)] for i in range(n)])


@app.command("sample")
def sample_cmd(
    model: Annotated[Path, typer.Option(help="A folder written by `trustmap diffusion train`.")],
    out: Annotated[Path, typer.Option(help="PNG sample grid to write.")],
    samples: Annotated[
        Path | None, typer.Option(help="Also write the samples ([0,1] pixels) and labels (.safetensors or .npy).")
    ] = None,
    n: Annotated[int, typer.Option(help="Number of samples.")] = 100,
    steps: Annotated[int, typer.Option(help="Network evaluations.")] = 50,
    sampler: Annotated[str, typer.Option(help="ddim, dpm++ (DPM-Solver++ 2M) or ddpm (ancestral).")] = "ddim",
    labels: Annotated[
        str | None, typer.Option(help="Classes for a conditional model, e.g. 0,1,2 (cycled); default 0-9.")
    ] = None,
    captions: Annotated[
        str | None,
        typer.Option(
            help="Captions for a text-conditioned model, ';'-separated (cycled); default: 'a photo of a <class>'."
        ),
    ] = None,
    guidance: Annotated[
        float, typer.Option(help="Classifier-free guidance scale for a text-conditioned model (1 = none).")
    ] = 1.0,
    nrow: Annotated[int, typer.Option(help="Images per grid row.")] = 10,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Score the samples against the Fashion-MNIST test set.")
    ] = False,
    seed: Annotated[int, seed_option()] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Sample a saved DDPM and write a PNG grid (and optionally the samples)."""
    import numpy as np

    from trustmap.diffusion import SAMPLERS, load_ddpm, sample, save_grid, to_pixels
    from trustmap.diffusion.io import save_tensor

    if out.suffix.lower() != ".png":
        raise OutputError(f"--out must be a .png file, got {out.name!r}")
    if samples is not None and samples.suffix.lower() not in (".safetensors", ".npy"):
        raise OutputError(f"--samples must end in .safetensors or .npy, got {samples.name!r}")
    if sampler not in SAMPLERS:
        raise TrustmapError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    if n < 1 or nrow < 1:
        raise TrustmapError("--n and --nrow must be >= 1")
    if not (0 < guidance < 100):
        raise TrustmapError(f"--guidance must be a number in (0, 100), got {guidance}")
    ddpm = load_ddpm(model)
    lab = _conditions(ddpm, labels, captions, n)
    if guidance != 1.0:
        from trustmap.diffusion.text import TextDDPM, guided

        if not isinstance(ddpm, TextDDPM):
            raise TrustmapError("--guidance needs a text-conditioned model (trained with --text)")
        ddpm = guided(ddpm, guidance)
    x = sample(ddpm, n=n, steps=steps, sampler=sampler, seed=seed, labels=lab)
    pix = to_pixels(x.numpy())
    save_grid(pix, out, nrow=nrow)
    result: dict = {"grid": str(out), "n": n, "steps": steps, "sampler": sampler, "seed": seed, "guidance": guidance}
    if samples is not None:
        import torch

        lab_t = lab if lab is not None and lab.ndim == 1 else torch.full((n,), -1)
        if samples.suffix.lower() == ".npy":
            from trustmap.utils.files import atomic_write

            with atomic_write(samples) as tmp, open(tmp, "wb") as f:
                np.save(f, pix, allow_pickle=False)
        else:
            save_tensor({"samples": torch.from_numpy(pix), "labels": lab_t.long()}, samples)
        result["samples"] = str(samples)
    if evaluate:
        result["quality"] = _quality(ddpm, pix, lab)
    if as_json:
        print_json(result)
        return
    console.print(f"[green]wrote[/] {n} samples ({esc(sampler)}, {steps} steps) to {esc(out)}")
    for key, value in result.get("quality", {}).items():
        console.print(f"  {key}: {value:.4f}")


def _quality(ddpm, pix, labels) -> dict[str, float]:
    from trustmap.diffusion import cached_classifier, features, fm_images, frechet_distance, precision_recall
    from trustmap.diffusion.metrics import classifier_accuracy

    clf = cached_classifier(ddpm.config.image_size)
    real, _ = fm_images(ddpm.config.image_size, split="test", n=max(len(pix), 100))
    fr, ff = features(clf, real), features(clf, pix)
    out = {"frechet_cnn_features": frechet_distance(ff, fr)}
    out["precision"], out["recall"] = precision_recall(fr, ff, k=min(3, len(pix) - 1))
    if labels is not None and labels.ndim == 1:
        out["classifier_accuracy"] = classifier_accuracy(clf, pix, labels.numpy())
    return out


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="diffusion")
