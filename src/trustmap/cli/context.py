"""Options shared by every command (``--store``, ``--debug``, ``--seed``) and helpers to print results.

Every user string that reaches a message (file names, dataset names, error text) goes through
:func:`esc`, so that ``[red]`` or ``[/x]`` in a file name prints as typed, and the consoles never turn
``:-1:`` into an emoji.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape


@dataclass
class Settings:
    store: Path | None = None
    debug: bool = False


SETTINGS = Settings()
console = Console(emoji=False, soft_wrap=True)  # never break a path or a command in two
err_console = Console(stderr=True, emoji=False, soft_wrap=True)


def esc(value: object) -> str:
    """``value`` as text that Rich prints literally (no markup, whatever the user typed)."""
    return escape(str(value))


def _check_seed(value: int | None) -> int | None:
    from trustmap.utils.seed import check_seed

    return None if value is None else check_seed(value)


def seed_option(help: str = "Random seed.") -> Any:
    """The one ``--seed`` option: every command validates its seed here (0 <= seed < 2**32)."""
    return typer.Option(help=help, callback=_check_seed, metavar="SEED")


def open_store():  # -> ResultsStore (imported lazily to keep `--help` fast)
    from trustmap.store import ResultsStore

    return ResultsStore.open(SETTINGS.store)


@contextlib.contextmanager
def no_new_folders_on_error(*paths: Path) -> Iterator[None]:
    """If the block fails, remove the folders on the way to ``paths`` that it created and left empty,
    so that a refused command leaves nothing behind (output folders are made before inputs validate)."""
    missing: list[Path] = []
    for path in paths:
        for folder in (path, *path.parents):
            if folder.exists():
                break
            missing.append(folder)
    try:
        yield
    except BaseException:
        for folder in sorted(set(missing), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # only empty folders go (and never a file)
                folder.rmdir()
        raise


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")
