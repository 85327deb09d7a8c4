"""Save and load a DDPM safely: weights as ``model.safetensors`` and the config as ``config.json`` in one
folder. Nothing is pickled; a missing, truncated or altered file is refused with a :class:`ModelError`
(the JSON records the weights' SHA-256, so even bytes changed inside a tensor are caught).

>>> save_ddpm(model, "out/ddpm")
>>> same = load_ddpm("out/ddpm")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from trustmap.diffusion.config import DDPMConfig
from trustmap.diffusion.model import DDPM
from trustmap.errors import ModelError
from trustmap.utils.files import atomic_write, atomic_write_text, sha256_file

if TYPE_CHECKING:
    from trustmap.diffusion.text import TextDDPM

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FORMAT = "trustmap-ddpm"
TEXT_FORMAT = "trustmap-text-ddpm"  # a TextDDPM (trustmap.diffusion.text)
VERSION = 1


def _format(model: object) -> str:
    from trustmap.diffusion.text import TextDDPM

    return TEXT_FORMAT if isinstance(model, TextDDPM) else FORMAT


def save_ddpm(model: DDPM | TextDDPM, folder: str | Path) -> Path:
    """Write ``folder/model.safetensors`` and ``folder/config.json`` (atomically); return the folder."""
    folder = Path(folder)
    fmt = _format(model)
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder} is a file; give a folder to save the DDPM in")
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.unet.state_dict().items()}
    with atomic_write(folder / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"format": fmt})
    meta = {
        "format": fmt,
        "version": VERSION,
        "config": model.config.to_dict(),
        "weights_sha256": sha256_file(folder / WEIGHTS),
    }
    atomic_write_text(folder / CONFIG, json.dumps(meta, indent=2, sort_keys=True))
    return folder


def load_ddpm(folder: str | Path) -> DDPM | TextDDPM:
    """Load a DDPM saved by :func:`save_ddpm`; refuse anything missing, corrupt or altered."""
    folder = Path(folder)
    hint = "re-train it with `trustmap diffusion train`"
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise ModelError(f"{folder} is not a trustmap DDPM folder (needs {CONFIG} and {WEIGHTS}); {hint}")
    try:
        meta = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder / CONFIG} is corrupt ({exc.__class__.__name__}); {hint}") from exc
    if not isinstance(meta, dict) or meta.get("format") not in (FORMAT, TEXT_FORMAT) or meta.get("version") != VERSION:
        raise ModelError(f"{folder / CONFIG} is not a version-{VERSION} trustmap DDPM config; {hint}")
    config = DDPMConfig.from_dict(meta.get("config"))
    if sha256_file(folder / WEIGHTS) != meta.get("weights_sha256"):
        raise ModelError(f"{folder / WEIGHTS} does not match its recorded checksum (corrupt or altered); {hint}")
    try:
        state = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{folder / WEIGHTS} is not a readable safetensors file; {hint}") from exc
    if meta["format"] == TEXT_FORMAT:
        from trustmap.diffusion.text import TextDDPM

        model: DDPM | TextDDPM = TextDDPM.build(config)
    else:
        model = DDPM.build(config)
    try:
        model.unet.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{folder / WEIGHTS} does not fit the architecture in {CONFIG}; {hint}") from exc
    for p in model.unet.parameters():
        p.requires_grad_(False)
    model.unet.eval()
    return model


def save_tensor(tensors: dict[str, torch.Tensor], path: str | Path) -> Path:
    """Write named tensors (e.g. samples and their labels) as one safetensors file, atomically."""
    with atomic_write(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    return Path(path)
