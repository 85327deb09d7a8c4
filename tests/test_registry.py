"""The one generic registry: ids are validated, duplicates refused, a miss lists the valid ids, built-in
modules are imported on first lookup only, and a ``check`` callback refuses malformed entries."""

from __future__ import annotations

import sys

import pytest

from trustmap.errors import DataError, TrustmapError
from trustmap.registry import Registry, check_id


@pytest.mark.parametrize("bad", ["", "Bat", "pgd_at", "-bat", "bat!", "a b", None, 3])
def test_a_malformed_id_is_refused(bad):
    reg: Registry[int] = Registry("toy")
    with pytest.raises(ValueError, match="lower-case letters, digits and dashes"):
        reg.add(bad, 1)
    with pytest.raises(ValueError, match="lower-case"):
        reg.register(bad)  # refused when the decorator is made, before any class body runs
    assert len(reg) == 0


def test_good_ids_pass():
    assert check_id("toy", "pgd-at") == "pgd-at" and check_id("toy", "top1") == "top1"


def test_a_duplicate_id_is_refused_but_re_adding_the_same_entry_is_not():
    reg: Registry[object] = Registry("toy")
    first = object()
    reg.add("one", first)
    reg.add("one", first)  # a module imported twice registers the very same object again
    with pytest.raises(ValueError, match="toy 'one' is already registered"):
        reg.add("one", object())
    assert reg.get("one") is first and reg.ids() == ["one"]


def test_a_miss_is_one_line_listing_the_valid_ids():
    reg: Registry[int] = Registry("dataset", error=DataError, hint="Or give a .npz file.")
    reg.add("fashion-mnist", 1)
    reg.add("digits", 2)
    with pytest.raises(DataError) as info:
        reg.get("fashion")
    message = str(info.value)
    assert message == "unknown dataset 'fashion'; choose from fashion-mnist, digits. Or give a .npz file."
    assert "\n" not in message
    with pytest.raises(DataError, match="choose from"):
        reg.get(None)  # type: ignore[arg-type]


def test_where_narrows_lookups_ids_and_help():
    reg: Registry[str] = Registry("defence", summary=str.upper)
    reg.add("bat", "harden")
    reg.add("sfr-on", "unlearn")

    def is_harden(kind: str) -> bool:
        return kind == "harden"

    assert reg.ids(where=is_harden) == ["bat"] and reg.help(where=is_harden) == "bat: HARDEN"
    assert reg.get("bat", where=is_harden) == "harden"
    with pytest.raises(TrustmapError, match=r"^unknown harden method 'sfr-on'; choose from bat\.$"):
        reg.get("sfr-on", where=is_harden, what="harden method")


def test_the_check_callback_refuses_a_malformed_entry():
    def positive(name: str, value: int) -> None:
        if value <= 0:
            raise ValueError(f"{name}: must be positive")

    reg: Registry[int] = Registry("toy", check=positive)
    reg.add("ok", 1)
    with pytest.raises(ValueError, match="bad: must be positive"):
        reg.add("bad", 0)
    assert reg.ids() == ["ok"]


def test_help_without_a_summary_lists_the_ids():
    reg: Registry[int] = Registry("toy")
    reg.add("a", 1)
    reg.add("b", 2)
    assert reg.help() == "a, b" and list(reg) == ["a", "b"] and "a" in reg and "c" not in reg


def test_scoped_drops_what_was_added_inside():
    reg: Registry[int] = Registry("toy")
    reg.add("kept", 1)
    with reg.scoped():
        reg.add("toy-only", 2)
        assert reg.ids() == ["kept", "toy-only"]
    assert reg.ids() == ["kept"]


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """A throw-away package whose modules register into ``package.REGISTRY`` when imported."""
    name = "trustmap_toy_plugins"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("REGISTRY = None\n")
    for mod in ("one", "two"):
        (pkg / f"{mod}.py").write_text(f"from {name} import REGISTRY\nREGISTRY.add({mod!r}, {mod!r})\n")
    (pkg / "_private.py").write_text("raise RuntimeError('a private module is never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for key in [k for k in sys.modules if k.startswith(name)]:
        del sys.modules[key]


def test_builtins_are_imported_lazily_on_first_lookup(plugin_package):
    import importlib

    package = importlib.import_module(plugin_package)
    reg: Registry[str] = Registry("toy", builtins=(f"{plugin_package}.one", f"{plugin_package}.not_installed"))
    package.REGISTRY = reg
    assert f"{plugin_package}.one" not in sys.modules  # making the registry imports nothing
    assert reg.get("one") == "one"  # the first lookup imports the built-ins; a missing one is skipped
    assert f"{plugin_package}.one" in sys.modules and reg.ids() == ["one"]


def test_a_package_star_imports_every_public_submodule(plugin_package):
    import importlib

    package = importlib.import_module(plugin_package)
    reg: Registry[str] = Registry("toy", builtins=(f"{plugin_package}.*",))
    package.REGISTRY = reg
    assert reg.ids() == ["one", "two"]  # _private.py is never imported


def test_a_builtin_that_fails_on_its_own_import_is_not_swallowed(plugin_package, tmp_path):
    import importlib

    package = importlib.import_module(plugin_package)
    (tmp_path / plugin_package / "broken.py").write_text("import trustmap_no_such_dependency\n")
    reg: Registry[str] = Registry("toy", builtins=(f"{plugin_package}.broken", f"{plugin_package}.one"))
    package.REGISTRY = reg
    with pytest.raises(ModuleNotFoundError, match="trustmap_no_such_dependency"):
        reg.ids()
    (tmp_path / plugin_package / "broken.py").write_text("")
    assert reg.ids() == ["one"]  # the failed load is retried on the next lookup


def test_every_project_registry_is_a_registry():
    """The hand-made registries are gone: each kind of id is validated by the one class."""
    from trustmap.adapt.methods import METHODS
    from trustmap.data import DATASETS
    from trustmap.defenses import DEFENCES
    from trustmap.federated.client import EXTRAS
    from trustmap.federated.strategy import STRATEGIES
    from trustmap.models import ARCHS
    from trustmap.repro import REPROS
    from trustmap.tee.partition import SCHEMES

    for reg in (METHODS, DATASETS, DEFENCES, EXTRAS, STRATEGIES, ARCHS, REPROS, SCHEMES):
        assert isinstance(reg, Registry) and len(reg) > 0, reg
    assert {"fashion-mnist", "adult"} <= set(DATASETS.ids()) and {"cnn", "minilm"} <= set(ARCHS.ids())
    assert {"bat", "ini", "sfr-on"} <= set(REPROS.ids()) and {"fedavg", "pfa"} <= set(STRATEGIES.ids())


def test_importing_trustmap_turns_off_ray_usage_reporting():
    """Nothing may reach the network at run time: Ray's usage statistics are off unless the user opts in."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "RAY_USAGE_STATS_ENABLED"}
    code = "import os, trustmap; print(os.environ['RAY_USAGE_STATS_ENABLED'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
