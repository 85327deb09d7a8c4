"""One generic registry for everything that is chosen by id: datasets, architectures, probes, defences,
adaptation methods, repro experiments, shielding schemes.

A :class:`Registry` maps validated ids to entries. It refuses a malformed id, a duplicate id and (through
an optional ``check``) a malformed entry, and on a miss it raises a one-line :class:`TrustmapError` that
lists the valid ids. Modules that hold built-in entries are imported lazily on first lookup, so reading a
registry never costs more imports than needed, and the CLI's ``--method``/``--probe`` choices and help text
come from :meth:`Registry.ids` and :meth:`Registry.help` (read when ``--help`` is shown,
:mod:`trustmap.cli.choices`).

>>> SCHEMES: Registry[Callable] = Registry("shielding scheme", builtins=("trustmap.tee.partition",))
>>> @SCHEMES.register("shallow")
... def shallow(model): ...
>>> SCHEMES.get("shallow") is shallow
True
>>> SCHEMES.get("shalow")  # TrustmapError: unknown shielding scheme 'shalow'; choose from shallow, ...
>>> SCHEMES.get("bat", where=lambda e: ..., what="harden method")  # a narrower choice, named as such
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from trustmap.errors import TrustmapError

T = TypeVar("T")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def check_id(kind: str, name: object) -> str:
    """``name`` if it is a valid id (lower-case letters, digits and dashes), else a ``ValueError``."""
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        raise ValueError(f"{kind} id {name!r} must be lower-case letters, digits and dashes")
    return name


class Registry(Generic[T]):
    """Validated ``id -> entry`` map for one kind of thing.

    ``kind`` names the thing in messages ("probe", "dataset"). ``builtins`` are module names imported on
    first lookup (their import registers the built-in entries); ``"package.*"`` stands for every public
    submodule of ``package`` (one experiment per file, found without a list to keep up to date). ``check(id, entry)`` may raise
    ``ValueError`` to refuse a malformed entry. ``error`` is the exception class raised on an unknown id,
    and ``hint`` a sentence appended to that message. ``summary(entry)`` gives the one-line help text.
    """

    def __init__(
        self,
        kind: str,
        *,
        builtins: Iterable[str] = (),
        check: Callable[[str, T], None] | None = None,
        error: type[TrustmapError] = TrustmapError,
        hint: str = "",
        summary: Callable[[T], str] | None = None,
    ) -> None:
        self.kind = kind
        self._builtins = tuple(builtins)
        self._check = check
        self._error = error
        self._hint = hint
        self._summary = summary
        self._entries: dict[str, T] = {}
        self._loaded = False

    # --- adding -------------------------------------------------------------------------------------
    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; re-adding the very same entry is a no-op (module reloads)."""
        check_id(self.kind, name)
        if name in self._entries and self._entries[name] is not entry:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if self._check is not None:
            self._check(name, entry)
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        check_id(self.kind, name)

        def deco(entry: T) -> T:
            return self.add(name, entry)

        return deco

    # --- reading ------------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            for module in self._builtins:
                if module.endswith(".*"):
                    package = importlib.import_module(module[:-2])
                    for sub in pkgutil.iter_modules(package.__path__):
                        if not sub.name.startswith("_"):
                            importlib.import_module(f"{package.__name__}.{sub.name}")
                    continue
                try:
                    importlib.import_module(module)
                except ModuleNotFoundError as exc:  # a built-in module that this install leaves out
                    if exc.name != module:
                        raise
        except BaseException:
            self._loaded = False
            raise

    def get(self, name: str, *, where: Callable[[T], bool] | None = None, what: str | None = None) -> T:
        """The entry for ``name``, or a one-line error naming the valid ids.

        ``where`` narrows the valid entries (e.g. the defences of one kind) and ``what`` names them in the
        message ("harden method" rather than "defence").
        """
        self._load()
        entry = self._entries.get(name) if isinstance(name, str) else None
        if entry is None or (where is not None and not where(entry)):
            valid = ", ".join(self.ids(where=where)) or "none yet"
            hint = f" {self._hint}" if self._hint else ""
            raise self._error(f"unknown {what or self.kind} {name!r}; choose from {valid}.{hint}")
        return entry

    def ids(self, *, where: Callable[[T], bool] | None = None) -> list[str]:
        """Every registered id (those whose entry passes ``where``), in registration order."""
        return [n for n, _ in self.items(where=where)]

    def items(self, *, where: Callable[[T], bool] | None = None) -> list[tuple[str, T]]:
        self._load()
        return [(n, e) for n, e in self._entries.items() if where is None or where(e)]

    def help(self, *, where: Callable[[T], bool] | None = None) -> str:
        """``id: summary`` lines for a CLI option's help text (ids alone without a ``summary``)."""
        if self._summary is None:
            return ", ".join(self.ids(where=where))
        return "; ".join(f"{n}: {self._summary(e)}" for n, e in self.items(where=where))

    @contextlib.contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """Entries added inside the block are dropped at its end (tests register toy entries this way)."""
        self._load()
        saved = dict(self._entries)
        try:
            yield self
        finally:
            self._entries.clear()
            self._entries.update(saved)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"

    def remove(self, name: str) -> T:
        """Take ``name`` out again and return its entry (for tests that register a throwaway entry)."""
        entry = self.get(name)
        del self._entries[name]
        return entry
