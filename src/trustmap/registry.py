"""One generic registry for everything that is chosen by id: datasets, architectures, probes, defences,
adaptation methods, repro experiments, shielding schemes.

A :class:`Registry` maps validated ids to entries. It refuses a malformed id, a duplicate id and (through
an optional ``check``) a malformed entry, and on a miss it raises a one-line :class:`TrustmapError` that
lists the valid ids. Modules that hold built-in entries are imported lazily on first lookup, so reading a
registry never costs more imports than needed, and the CLI's ``--method``/``--probe`` choices and help text
come from :meth:`Registry.ids` and :meth:`Registry.help`.

>>> DEFENCES: Registry[type[Defence]] = Registry("defence", builtins=("trustmap.defenses.bat",))
>>> @DEFENCES.register("bat")
... class BAT(Defence): ...
>>> DEFENCES.get("bat") is BAT
True
>>> DEFENCES.get("bta")  # TrustmapError: unknown defence 'bta'; choose from bat, ...
"""

from __future__ import annotations

import importlib
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
    first lookup (their import registers the built-in entries). ``check(id, entry)`` may raise
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
        for module in self._builtins:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:  # a built-in module that this install leaves out
                if exc.name != module:
                    self._loaded = False
                    raise

    def get(self, name: str) -> T:
        """The entry for ``name``, or a one-line error naming the valid ids."""
        self._load()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            valid = ", ".join(self.ids()) or "none yet"
            hint = f" {self._hint}" if self._hint else ""
            raise self._error(f"unknown {self.kind} {name!r}; choose from {valid}.{hint}") from None

    def ids(self) -> list[str]:
        """Every registered id, in registration order."""
        self._load()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._entries.items())

    def help(self) -> str:
        """``id: summary`` lines for a CLI option's help text (ids alone without a ``summary``)."""
        if self._summary is None:
            return ", ".join(self.ids())
        return "; ".join(f"{n}: {self._summary(e)}" for n, e in self.items())

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
