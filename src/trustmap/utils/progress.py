"""Rich progress bars that stay quiet when output is not a terminal (tests, CI logs)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Tick(Protocol):
    def __call__(self, advance: float = 1, *, description: str | None = None) -> None: ...


def _enabled() -> bool:
    if os.environ.get("TRUSTMAP_PROGRESS") == "0":
        return False
    return os.environ.get("TRUSTMAP_PROGRESS") == "1" or sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(description: str, total: float | None, *, enabled: bool | None = None) -> Iterator[Tick]:
    """Context manager yielding ``tick(advance=1, description=None)``.

    >>> with progress_bar("training", total=3) as tick:
    ...     for _ in range(3):
    ...         tick()
    """
    if not (_enabled() if enabled is None else enabled):
        yield lambda advance=1, *, description=None: None
        return
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as prog:
        task = prog.add_task(description, total=total)

        def tick(advance: float = 1, *, description: str | None = None) -> None:
            prog.update(task, advance=advance, description=description or prog.tasks[task].description)

        yield tick
