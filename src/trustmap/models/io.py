"""Safe model I/O: TorchScript (``.pt``), ``torch.export`` archives (``.pt2``) and safetensors weights
with a registered architecture name (``.safetensors``). Text models and node classifiers (graph data) are
saved as ``.safetensors`` only; a node classifier's metadata also records the thresholds its training fixed
(``arch_options``), so the loaded model filters edges exactly as the trained one did.

Pickled full models (``torch.save(model)``) are refused: unpickling runs arbitrary code. ``torch.load``
is only ever called with ``weights_only=True``.

>>> save_model(model, "m.pt2", meta=ModelMeta(arch="cnn", input_shape=(1, 28, 28), num_classes=10))
>>> handle = load_model("m.pt2")
>>> handle.predict(x)            # logits (N, 10)
"""

from __future__ import annotations

import contextlib
import logging
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from trustmap.errors import ModelError
from trustmap.models.handle import ModelHandle
from trustmap.models.meta import ModelMeta
from trustmap.utils.files import atomic_write, sha256_file

META_FILE = "trustmap.json"
FORMATS = {".pt": "TorchScript", ".pt2": "torch.export", ".safetensors": "safetensors + architecture"}
EXPORT_HINT = (
    "export it instead: torch.jit.save(torch.jit.script(model), 'model.pt'), "
    "torch.export.save(torch.export.export(model, (example,)), 'model.pt2'), "
    "or save weights with safetensors and a registered --arch"
)


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in FORMATS:
        raise ModelError(
            f"unknown model format {path.name!r}; use .pt (TorchScript), .pt2 (torch.export) "
            "or .safetensors (weights + architecture name)"
        )
    return s


def check_model_path(path: str | Path, *, kind: str | None = None) -> Path:
    """Refuse, before any work, an output path that :func:`save_model` could not write for ``kind`` data."""
    path = Path(path)
    suffix = _suffix(path)
    if path.is_dir():
        raise ModelError(f"{path} is a folder; give a model file path such as {path / 'model'}{suffix}")
    if kind in ("text", "graph") and suffix != ".safetensors":
        what = "text models" if kind == "text" else "node classifiers (graph data)"
        raise ModelError(
            f"{what} are saved as .safetensors, not {suffix}; use --out {path.with_suffix('.safetensors')}"
        )
    return path


def save_model(model: nn.Module, path: str | Path, *, meta: ModelMeta) -> Path:
    """Save ``model`` atomically in the format chosen by the file suffix; return the path."""
    path = Path(path)
    suffix = _suffix(path)
    if meta.kind == "graph":
        check_model_path(path, kind="graph")
    model = model.eval()
    with atomic_write(path) as tmp:
        if suffix == ".safetensors":
            from safetensors.torch import save_file

            if meta.arch is None:
                raise ModelError("safetensors needs a registered architecture name; save as .pt2 or .pt instead")
            state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
            save_file(state, str(tmp), metadata={META_FILE: meta.to_json()})
        elif suffix == ".pt":
            with _quiet_torchscript():
                try:
                    scripted = torch.jit.script(model)
                except Exception:
                    scripted = torch.jit.trace(model, _example(meta))
                torch.jit.save(scripted, str(tmp), _extra_files={META_FILE: meta.to_json()})
        else:
            if meta.kind in ("text", "graph"):
                raise ModelError(f"{meta.kind} models are saved as .safetensors with their --arch")
            batch = torch.export.Dim("batch", min=1)
            program = torch.export.export(model, (_example(meta),), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(tmp), extra_files={META_FILE: meta.to_json()})
    return path


@contextlib.contextmanager
def _quiet_torchscript() -> Iterator[None]:
    """TorchScript is deprecated upstream but remains a supported, safe exchange format here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=DeprecationWarning)
        yield


def _example(meta: ModelMeta) -> torch.Tensor:
    if not meta.input_shape:
        raise ModelError("saving as .pt/.pt2 needs the model's input shape in its metadata")
    return torch.zeros((2, *meta.input_shape))


def _is_zip(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def _refuse_pickle(path: Path) -> None:
    """Recognise ``torch.save(model)`` archives and raw pickles without unpickling them."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80":  # a raw pickle stream (protocol >= 2)
        raise ModelError(f"{path.name} is a pickled Python object; trustmap never unpickles models: {EXPORT_HINT}")
    if not _is_zip(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # load_model reports it as corrupt
    is_script = any("/code/" in n for n in names)
    is_export = any(n.endswith("archive_format") or "/models/" in n for n in names)
    if not is_script and not is_export and any(n.endswith("data.pkl") for n in names):
        try:  # a state_dict loads with weights_only=True; a full pickled model does not
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            raise ModelError(
                f"{path.name} is a pickled full model (torch.save(model)); trustmap never unpickles models: "
                f"{EXPORT_HINT}"
            ) from None
        kind = "a state_dict" if isinstance(obj, dict) else f"a {type(obj).__name__}"
        raise ModelError(f"{path.name} holds {kind}, not a model; save the weights as .safetensors with an --arch")


def load_model(path: str | Path, *, arch: str | None = None) -> ModelHandle:
    """Load a model file into a :class:`ModelHandle`, refusing pickles and reporting corrupt files."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a model file; give the model file itself")
    if path.stat().st_size == 0:
        raise ModelError(f"model file {path} is empty; re-export it")
    _refuse_pickle(path)
    corrupt = f"{path.name} is corrupt or truncated, or not a {FORMATS[suffix]} file"
    if suffix in (".pt", ".pt2") and not _is_readable_zip(path):  # both formats are zip archives
        raise ModelError(f"{corrupt} (not a complete zip archive); re-export the model")
    digest = sha256_file(path)
    try:
        with _quiet_torch_loaders():
            if suffix == ".safetensors":
                handle = _load_safetensors(path, arch)
            elif suffix == ".pt":
                extra = {META_FILE: ""}
                with _quiet_torchscript():
                    module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
                handle = ModelHandle.from_module(module, _meta(extra[META_FILE]))
            else:
                extra = {META_FILE: ""}
                program = torch.export.load(str(path), extra_files=extra)
                handle = ModelHandle.from_module(_ExportedModule(program.module()), _meta(extra[META_FILE]))
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{corrupt} ({type(exc).__name__}); re-export the model") from exc
    handle.source, handle.sha256 = str(path), digest
    return handle


def _is_readable_zip(path: Path) -> bool:
    """True when ``path`` is a zip archive whose directory and member headers read back."""
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


@contextlib.contextmanager
def _quiet_torch_loaders() -> Iterator[None]:
    """torch.export logs a full traceback (at WARNING) before raising on a bad archive; the caller turns
    the exception into one line, so the log is held back while loading."""
    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export", "torch.jit")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class _ExportedModule(nn.Module):
    """Wraps the ``GraphModule`` of a ``torch.export`` program so that ``.eval()`` is harmless."""

    def __init__(self, graph_module: nn.Module) -> None:
        super().__init__()
        self.graph = graph_module

    def train(self, mode: bool = True) -> "_ExportedModule":  # exported graphs fix their mode at export
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x)


def _meta(raw: str | bytes) -> ModelMeta:
    if not raw:
        return ModelMeta()
    try:
        return ModelMeta.from_json(raw)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"the model's trustmap metadata is unreadable ({exc}); re-export the model") from exc


def _load_safetensors(path: Path, arch: str | None) -> ModelHandle:
    from safetensors import safe_open
    from safetensors.torch import load_file

    from trustmap.models.architectures import build_model

    with safe_open(str(path), framework="pt") as f:
        raw = (f.metadata() or {}).get(META_FILE, "")
    meta = _meta(raw)
    arch = arch or meta.arch
    if arch is None:
        raise ModelError(
            f"{path.name} names no architecture in its metadata; save it with `trustmap train --arch ...` "
            "or load it in Python with load_model(path, arch=...)"
        )
    if meta.num_classes is None or (meta.input_shape is None and meta.kind != "text"):
        raise ModelError(f"{path.name} lacks trustmap metadata (input shape, classes); save it with trustmap")
    model = build_model(arch, input_shape=meta.input_shape or (), num_classes=meta.num_classes, **meta.arch_options)
    state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(
            f"{path.name} does not match architecture {arch!r} "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return ModelHandle.from_module(model, replace(meta, arch=arch))
