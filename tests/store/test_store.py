"""The SQLite results store: recording, listing, artifacts, WAL, and interrupted runs."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from trustmap.store import ResultsStore, default_store_path


def test_records_a_successful_run(tmp_path):
    store = ResultsStore.open(tmp_path / "s.sqlite")
    with store.run("train", args={"epochs": 2}, seed=7) as run:
        run.metrics["accuracy"] = 0.9
        run.dataset, run.dataset_sha256, run.model_sha256 = "digits", "a" * 64, "b" * 64
    rec = store.get_run(run.id)
    assert rec.status == "ok" and rec.seed == 7 and rec.args == {"epochs": 2}
    assert rec.metrics == {"accuracy": 0.9} and rec.dataset_sha256 == "a" * 64
    assert "torch" in rec.versions and rec.seconds is not None and rec.finished_at
    assert store.runs()[0].id == run.id


def test_failed_run_keeps_the_error(tmp_path):
    store = ResultsStore.open(tmp_path / "s.sqlite")
    with pytest.raises(ValueError):
        with store.run("eval", args={}) as run:
            raise ValueError("boom")
    rec = store.get_run(run.id)
    assert rec.status == "failed" and "boom" in rec.error


def test_keyboard_interrupt_is_recorded(tmp_path):
    store = ResultsStore.open(tmp_path / "s.sqlite")
    with pytest.raises(KeyboardInterrupt):
        with store.run("train", args={}) as run:
            raise KeyboardInterrupt
    assert store.get_run(run.id).status == "interrupted"


def test_wal_mode_and_env_override(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    ResultsStore.open(path)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setenv("TRUSTMAP_STORE", str(tmp_path / "env.sqlite"))
    assert default_store_path() == tmp_path / "env.sqlite"


def test_artifacts_round_trip(tmp_path):
    store = ResultsStore.open(tmp_path / "s.sqlite")
    store.put_artifact("audit-1", "pgd", {"acc": 0.5})
    assert store.get_artifact("audit-1", "pgd") == {"acc": 0.5}
    store.drop_artifacts("audit-1")
    assert store.get_artifact("audit-1", "pgd") is None


def test_sigterm_marks_the_run_interrupted(tmp_path):
    """A real process killed by SIGTERM mid-run leaves an 'interrupted' record and a consistent DB."""
    path = tmp_path / "s.sqlite"
    script = textwrap.dedent(f"""
        import time
        from trustmap.store import ResultsStore
        store = ResultsStore.open({str(path)!r})
        with store.run("train", args={{"long": True}}) as run:
            print("started", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    store = ResultsStore.open(path)
    (rec,) = store.runs()
    assert rec.status == "interrupted" and rec.finished_at
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
