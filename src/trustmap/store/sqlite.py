"""The results store: one SQLite file (WAL mode, one transaction per write) that records every run.

Default location: ``$TRUSTMAP_STORE`` if set, else ``<user data dir>/trustmap/results.sqlite``; the CLI's
``--store`` overrides both. A run stopped by Ctrl-C or SIGTERM is recorded as ``interrupted``.

>>> store = ResultsStore.open()
>>> with store.run("train", args={"epochs": 5}, seed=0) as run:
...     run.metrics["accuracy"] = 0.91
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trustmap.errors import OutputError

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


class ResultsStore:
    """A thin, transactional wrapper around the SQLite results file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the results store at {self.path} ({exc}); "
                              "pass --store PATH or set TRUSTMAP_STORE to a writable file") from exc  # fmt: skip
        self._conn.row_factory = sqlite3.Row

    @classmethod
    def open(cls, path: str | Path | None = None) -> "ResultsStore":
        return cls(path or default_store_path())

    def close(self) -> None:
        self._conn.close()

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
        rec = RunRecord(id=0, command=command, args=args, seed=seed, started_at=_now(), versions=library_versions())
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO runs (command, args, seed, status, started_at, versions) VALUES (?,?,?,?,?,?)",
                (command, json.dumps(args, sort_keys=True, default=str), seed, "running", rec.started_at,
                 json.dumps(rec.versions)),
            )  # fmt: skip
            rec.id = int(cur.lastrowid or 0)
        return rec

    def finish_run(self, rec: RunRecord) -> None:
        with self._tx() as c:
            c.execute(
                """UPDATE runs SET status=?, finished_at=?, seconds=?, dataset=?, dataset_sha256=?,
                   model_sha256=?, metrics=?, timings=?, error=? WHERE id=?""",
                (rec.status, rec.finished_at, rec.seconds, rec.dataset, rec.dataset_sha256, rec.model_sha256,
                 json.dumps(rec.metrics, sort_keys=True, default=float), json.dumps(rec.timings), rec.error, rec.id),
            )  # fmt: skip

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

    def runs(self, *, limit: int = 50, command: str | None = None) -> list[RunRecord]:
        sql = "SELECT * FROM runs" + (" WHERE command=?" if command else "") + " ORDER BY id DESC LIMIT ?"
        params: tuple[Any, ...] = (command, limit) if command else (limit,)
        return [self._row(r) for r in self._conn.execute(sql, params)]

    def get_run(self, run_id: int) -> RunRecord | None:
        row = self._conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._row(row) if row else None

    @staticmethod
    def _row(r: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=r["id"], command=r["command"], args=json.loads(r["args"]), seed=r["seed"], status=r["status"],
            started_at=r["started_at"], finished_at=r["finished_at"], seconds=r["seconds"],
            versions=json.loads(r["versions"]), dataset=r["dataset"], dataset_sha256=r["dataset_sha256"],
            model_sha256=r["model_sha256"], metrics=json.loads(r["metrics"]), timings=json.loads(r["timings"]),
            error=r["error"],
        )  # fmt: skip

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


