"""The results store: one SQLite file (WAL mode, one transaction per write) that records every run.

Default location: ``$TRUSTMAP_STORE`` if set, else ``<user data dir>/trustmap/results.sqlite``; the CLI's
``--store`` overrides both. A run stopped by Ctrl-C or SIGTERM is recorded as ``interrupted``; so is
a run whose process died without a word (``kill -9``, a crash): each run records the pid and host of
its process, and a ``running`` run whose process is gone on this host reads as ``interrupted``.

Library workflows record their own runs with :func:`recorded` (the CLI only parses and prints):

>>> store = ResultsStore.open()
>>> with recorded(store, "train", args={"epochs": 5}, seed=0) as run:
...     run.note(dataset="digits", metrics={"accuracy": 0.91})
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trustmap.errors import OutputError, TrustmapError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    args TEXT NOT NULL,
    seed INTEGER,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    seconds REAL,
    versions TEXT NOT NULL,
    dataset TEXT,
    dataset_sha256 TEXT,
    model_sha256 TEXT,
    metrics TEXT NOT NULL DEFAULT '{}',
    timings TEXT NOT NULL DEFAULT '{}',
    error TEXT
);
CREATE TABLE IF NOT EXISTS artifacts (
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    run_id INTEGER REFERENCES runs(id),
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (key, name)
);
"""
# Columns added after the first release: store files made before them gain them on open (NULL in old rows).
ADDED_COLUMNS = {"pid": "INTEGER", "host": "TEXT"}
SQLITE_HEADER = b"SQLite format 3\x00"
STORE_HINT = "pass --store PATH or set TRUSTMAP_STORE to a new file or an existing trustmap store"


def default_store_path() -> Path:
    env = os.environ.get("TRUSTMAP_STORE")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("trustmap", appauthor=False)) / "results.sqlite"


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("trustmap", "torch", "numpy", "scikit-learn", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunInterrupted(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives, so that the run is recorded before exiting."""


@dataclass
class RunRecord:
    """A row of the ``runs`` table, filled in while the run executes."""

    id: int
    command: str
    args: dict[str, Any]
    seed: int | None
    status: str = "running"
    started_at: str = ""
    finished_at: str | None = None
    seconds: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    dataset: str | None = None
    dataset_sha256: str | None = None
    model_sha256: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    pid: int | None = None
    host: str | None = None

    def note(
        self,
        *,
        dataset: str | None = None,
        dataset_sha256: str | None = None,
        model_sha256: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        timings: Mapping[str, float] | None = None,
    ) -> None:
        """Record what the run used and measured (the fields given; metrics and timings are merged)."""
        self.dataset = dataset if dataset is not None else self.dataset
        self.dataset_sha256 = dataset_sha256 if dataset_sha256 is not None else self.dataset_sha256
        self.model_sha256 = model_sha256 if model_sha256 is not None else self.model_sha256
        self.metrics.update(metrics or {})
        self.timings.update(timings or {})


def _check_store_file(path: Path) -> None:
    """Refuse a path that is a folder or a non-SQLite file, which SQLite would otherwise overwrite."""
    if path.is_dir():
        raise OutputError(f"the results store {path} is a folder; {STORE_HINT}")
    if path.is_file() and path.stat().st_size > 0:
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise OutputError(f"cannot read the results store {path} ({exc.strerror}); {STORE_HINT}") from exc
        if head != SQLITE_HEADER:
            raise OutputError(
                f"{path} is not a results store (not an SQLite file); it was left untouched; {STORE_HINT}"
            )


class ResultsStore:
    """A thin, transactional wrapper around the SQLite results file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_store_file(self.path)
        self._connection: sqlite3.Connection | None = None
        if self.path.exists():  # an existing store is checked now; a new one is created on first use,
            self._connect()  # so a command refused before it records anything leaves no store file behind

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._connection if self._connection is not None else self._connect()

    def _connect(self) -> sqlite3.Connection:
        _check_store_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "runs" not in tables:
                conn.close()
                raise OutputError(
                    f"{self.path} is an SQLite file but not a trustmap results store (no runs table); "
                    f"it was left untouched; {STORE_HINT}"
                )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            self._connection = conn
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            self._connection = None
            raise OutputError(f"cannot open the results store at {self.path} ({exc}); {STORE_HINT}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    def _migrate(self) -> None:
        """Add the columns that newer versions record; old rows keep NULL there, old readers ignore them."""

        def columns() -> set[str]:
            return {r[1] for r in self._conn.execute("PRAGMA table_info(runs)")}

        if set(ADDED_COLUMNS) <= columns():
            return
        with self._tx() as c:
            have = columns()  # again, inside the write lock: another process may have just added them
            for name, kind in ADDED_COLUMNS.items():
                if name not in have:
                    c.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    @classmethod
    def open(cls, path: str | Path | None = None) -> "ResultsStore":
        return cls(path or default_store_path())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    # -- runs ---------------------------------------------------------------------------------------
    def start_run(self, command: str, *, args: dict[str, Any], seed: int | None = None) -> RunRecord:
        rec = RunRecord(
            id=0,
            command=command,
            args=args,
            seed=seed,
            started_at=_now(),
            versions=library_versions(),
            pid=os.getpid(),
            host=_host(),
        )
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO runs (command, args, seed, status, started_at, versions, pid, host) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    command,
                    json.dumps(args, sort_keys=True, default=str),
                    seed,
                    "running",
                    rec.started_at,
                    json.dumps(rec.versions),
                    rec.pid,
                    rec.host,
                ),
            )
            rec.id = int(cur.lastrowid or 0)
        return rec

    def finish_run(self, rec: RunRecord) -> None:
        with self._tx() as c:
            c.execute(
                """UPDATE runs SET status=?, finished_at=?, seconds=?, dataset=?, dataset_sha256=?,
                   model_sha256=?, metrics=?, timings=?, error=? WHERE id=?""",
                (
                    rec.status,
                    rec.finished_at,
                    rec.seconds,
                    rec.dataset,
                    rec.dataset_sha256,
                    rec.model_sha256,
                    json.dumps(rec.metrics, sort_keys=True, default=float),
                    json.dumps(rec.timings),
                    rec.error,
                    rec.id,
                ),
            )

    @contextlib.contextmanager
    def run(self, command: str, *, args: dict[str, Any], seed: int | None = None) -> Iterator[RunRecord]:
        """Record a run: ``ok`` on success, ``failed`` on an error, ``interrupted`` on Ctrl-C/SIGTERM."""
        rec = self.start_run(command, args=args, seed=seed)
        start = time.perf_counter()
        with _sigterm_as_interrupt():
            try:
                yield rec
                rec.status = "ok"
            except KeyboardInterrupt:
                rec.status, rec.error = "interrupted", "stopped by Ctrl-C or SIGTERM"
                raise
            except BaseException as exc:
                rec.status, rec.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
                raise
            finally:
                rec.finished_at = _now()
                rec.seconds = round(time.perf_counter() - start, 3)
                self.finish_run(rec)

    def mark_stale_runs(self) -> int:
        """Record as ``interrupted`` every ``running`` run of this host whose process is gone; return how many."""
        rows = self._conn.execute(
            "SELECT id, pid FROM runs WHERE status='running' AND pid IS NOT NULL AND host=?", (_host(),)
        ).fetchall()
        stale = [(int(r[0]), int(r[1])) for r in rows if not _process_alive(int(r[1]))]
        if stale:
            with self._tx() as c:
                for run_id, pid in stale:
                    c.execute(
                        "UPDATE runs SET status='interrupted', error=? WHERE id=? AND status='running'",
                        (f"its process (pid {pid}) ended without finishing the run (killed or crashed)", run_id),
                    )
        return len(stale)

    def runs(self, *, limit: int = 50, command: str | None = None) -> list[RunRecord]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise TrustmapError(f"--limit must be a whole number of at least 1, got {limit!r}")
        self.mark_stale_runs()
        sql = "SELECT * FROM runs" + (" WHERE command=?" if command else "") + " ORDER BY id DESC LIMIT ?"
        params: tuple[Any, ...] = (command, limit) if command else (limit,)
        return [self._row(r) for r in self._conn.execute(sql, params)]

    def get_run(self, run_id: int) -> RunRecord | None:
        self.mark_stale_runs()
        row = self._conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._row(row) if row else None

    @staticmethod
    def _row(r: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=r["id"],
            command=r["command"],
            args=json.loads(r["args"]),
            seed=r["seed"],
            status=r["status"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            seconds=r["seconds"],
            versions=json.loads(r["versions"]),
            dataset=r["dataset"],
            dataset_sha256=r["dataset_sha256"],
            model_sha256=r["model_sha256"],
            metrics=json.loads(r["metrics"]),
            timings=json.loads(r["timings"]),
            error=r["error"],
            pid=r["pid"],
            host=r["host"],
        )

    # -- artifacts: keyed results that let long jobs (audits) resume -----------------------------------
    def put_artifact(self, key: str, name: str, payload: dict[str, Any], *, run_id: int | None = None) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO artifacts (key, name, run_id, created_at, payload) VALUES (?,?,?,?,?)",
                (key, name, run_id, _now(), json.dumps(payload, sort_keys=True)),
            )

    def get_artifact(self, key: str, name: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT payload FROM artifacts WHERE key=? AND name=?", (key, name)).fetchone()
        return json.loads(row["payload"]) if row else None

    def drop_artifacts(self, key: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM artifacts WHERE key=?", (key,))


@contextlib.contextmanager
def recorded(
    store: ResultsStore | None, command: str, *, args: dict[str, Any], seed: int | None = None
) -> Iterator[RunRecord]:
    """The one way a library workflow records its run: ``store.run(...)``, or, when ``store`` is None
    (a Python caller that keeps no store), a record that lives only in memory (its ``id`` stays 0)."""
    if store is None:
        yield RunRecord(id=0, command=command, args=args, seed=seed, started_at=_now())
        return
    with store.run(command, args=args, seed=seed) as run:
        yield run


def _host() -> str:
    return socket.gethostname()


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return True  # cannot tell: leave the run as it is
    return True


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`RunInterrupted` (a KeyboardInterrupt) while the block runs."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise RunInterrupted()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
