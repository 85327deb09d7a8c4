"""Options shared by every command (``--store``, ``--debug``) and helpers to print results."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console


@dataclass
class Settings:
    store: Path | None = None
    debug: bool = False


SETTINGS = Settings()
console = Console()
err_console = Console(stderr=True)


def open_store():  # -> ResultsStore (imported lazily to keep `--help` fast)
    from trustmap.store import ResultsStore

    return ResultsStore.open(SETTINGS.store)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")
