"""Model I/O: round trips of all three formats with gradient flow, and refusal of unsafe/corrupt files."""

from __future__ import annotations

import pytest
import torch

from trustmap.errors import ModelError
from trustmap.models import ModelMeta, build_model, load_model, save_model

META = ModelMeta(kind="image", arch="cnn-s", input_shape=(1, 28, 28), num_classes=10, classes=tuple("abcdefghij"))


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10).eval()


@pytest.mark.parametrize("suffix", [".pt", ".pt2", ".safetensors"])
def test_round_trip_keeps_outputs_meta_and_gradients(tmp_path, model, suffix):
    path = save_model(model, tmp_path / f"m{suffix}", meta=META)
    handle = load_model(path)
    assert handle.meta.num_classes == 10 and handle.meta.classes == META.classes
    assert handle.white_box and len(handle.sha256) == 64
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1), requires_grad=True)
    torch.testing.assert_close(handle(x), model(x), rtol=1e-4, atol=1e-5)
    handle(x)[torch.arange(5), 3].sum().backward()  # gradients w.r.t. the inputs flow through the format
    expected = torch.autograd.grad(model(x)[torch.arange(5), 3].sum(), x)[0]
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=1e-6)


def test_dynamic_batch_dimension(tmp_path, model):
    handle = load_model(save_model(model, tmp_path / "m.pt2", meta=META))
    for n in (1, 3, 64):
        assert handle(torch.zeros(n, 1, 28, 28)).shape == (n, 10)


def test_pickled_full_model_is_refused_with_export_hint(tmp_path, model):
    path = tmp_path / "pickled.pt"
    torch.save(model, path)
    with pytest.raises(ModelError, match="pickled full model.*torch.jit.save"):
        load_model(path)


def test_raw_pickle_is_refused(tmp_path):
    import pickle

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": 1}, protocol=4))
    with pytest.raises(ModelError, match="pickled Python object"):
        load_model(path)


def test_state_dict_is_refused_with_hint(tmp_path, model):
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    with pytest.raises(ModelError, match="state_dict.*safetensors"):
        load_model(path)


@pytest.mark.parametrize("suffix", [".pt", ".pt2", ".safetensors"])
def test_truncated_file_is_reported_as_corrupt(tmp_path, model, suffix):
    path = save_model(model, tmp_path / f"m{suffix}", meta=META)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(path)


def test_garbage_and_empty_files(tmp_path):
    (tmp_path / "g.pt2").write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(tmp_path / "g.pt2")
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_model(tmp_path / "e.pt")


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ModelError, match="unknown model format"):
        load_model(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "m.pt")


def test_save_is_atomic_on_failure(tmp_path):
    class Unexportable(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow cannot be exported
                return x
            return -x

    with pytest.raises(Exception):
        save_model(Unexportable(), tmp_path / "m.pt2", meta=META)
    assert list(tmp_path.iterdir()) == []


def test_torch_load_is_only_called_safely():
    """Every torch.load in the package passes weights_only=True."""
    import re
    from pathlib import Path

    import trustmap

    root = Path(trustmap.__file__).parent
    for path in root.rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", path.read_text()):
            assert "weights_only=True" in call, f"{path}: {call}"


@pytest.mark.parametrize("content", ["truncated", "zip-of-something-else"])
def test_a_bad_pt2_prints_one_line_and_no_torch_log(tmp_path, model, content):
    """torch.export logs a 12-line traceback at WARNING before raising; the user sees only one line."""
    import os
    import subprocess
    import sys
    import zipfile

    path = tmp_path / "bad.pt2"
    if content == "truncated":
        good = save_model(model, tmp_path / "good.pt2", meta=META).read_bytes()
        path.write_bytes(good[: len(good) // 2])
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("bad/archive_format", "pt2")
            z.writestr("bad/data.bin", "x" * 100)
    env = {**os.environ, "TRUSTMAP_STORE": str(tmp_path / "s.sqlite")}
    proc = subprocess.run(
        [sys.executable, "-m", "trustmap", "eval", "--model", str(path), "--data", "digits"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "Deprecat" not in line]
    assert len(lines) == 1 and "corrupt or truncated" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_folder_is_not_a_model(tmp_path):
    from trustmap.models.io import check_model_path

    (tmp_path / "m.pt2").mkdir()
    with pytest.raises(ModelError, match="is a folder"):
        load_model(tmp_path / "m.pt2")
    with pytest.raises(ModelError, match="is a folder"):
        check_model_path(tmp_path / "m.pt2")
    with pytest.raises(ModelError, match="text models are saved as .safetensors"):
        check_model_path(tmp_path / "t.pt2", kind="text")
    assert check_model_path(tmp_path / "m.safetensors", kind="text") == tmp_path / "m.safetensors"


def test_safetensors_without_architecture_names_real_options(tmp_path, model):
    """The hint for a weights file without an architecture names what exists (no `eval --arch`)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "w.safetensors"))
    with pytest.raises(ModelError, match=r"names no architecture.*trustmap train --arch.*load_model\(path, arch="):
        load_model(tmp_path / "w.safetensors")
