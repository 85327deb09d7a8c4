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
    store = ResultsStore.open(path)
    assert not path.exists()  # created on first use: a command refused before it records leaves no store file
    assert store.runs() == []
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


def test_a_killed_run_reads_as_interrupted(tmp_path):
    """kill -9 gives the process no chance to record anything: its pid tells the store it is gone."""
    path = tmp_path / "s.sqlite"
    script = textwrap.dedent(f"""
        import time
        from trustmap.store import ResultsStore
        store = ResultsStore.open({str(path)!r})
        with store.run("audit", args={{}}) as run:
            print(run.id, flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    run_id = int(proc.stdout.readline())
    store = ResultsStore.open(path)
    assert store.get_run(run_id).status == "running"  # alive: left alone
    assert store.get_run(run_id).pid == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (rec,) = store.runs()
    assert rec.status == "interrupted" and f"pid {proc.pid}" in rec.error


def test_running_runs_of_live_processes_and_other_hosts_stay_running(tmp_path):
    store = ResultsStore.open(tmp_path / "s.sqlite")
    mine = store.start_run("audit", args={})
    other = store.start_run("audit", args={})
    store._conn.execute("UPDATE runs SET host='elsewhere', pid=1 WHERE id=?", (other.id,))
    assert store.mark_stale_runs() == 0
    assert {r.status for r in store.runs()} == {"running"}
    assert store.get_run(mine.id).host and store.get_run(other.id).host == "elsewhere"


def test_a_store_from_before_the_pid_columns_is_migrated(tmp_path):
    """An old store file (no pid/host columns) opens, keeps its rows, and records new runs with a pid."""
    from trustmap.store.sqlite import SCHEMA

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)
    old.execute(
        "INSERT INTO runs (command, args, seed, status, started_at, versions) VALUES "
        "('train', '{}', 0, 'running', '2025-01-01T00:00:00+00:00', '{}')"
    )
    old.commit()
    old.close()
    store = ResultsStore.open(path)
    with store.run("eval", args={}) as run:
        pass
    old_rec, new_rec = store.get_run(1), store.get_run(run.id)
    assert old_rec.status == "running" and old_rec.pid is None  # unknown process: not guessed at
    assert new_rec.pid > 0 and new_rec.status == "ok"
    ResultsStore.open(path)  # opening again is a no-op


@pytest.mark.parametrize("content", [b"x", b"not a database at all, but text\n" * 10])
def test_a_non_sqlite_file_is_refused_and_left_untouched(tmp_path, content):
    from trustmap.errors import TrustmapError

    path = tmp_path / "notes.sqlite"
    path.write_bytes(content)
    with pytest.raises(TrustmapError, match="not a results store") as err:
        ResultsStore.open(path)
    assert "\n" not in str(err.value) and path.read_bytes() == content


def test_another_sqlite_database_or_a_folder_is_refused(tmp_path):
    from trustmap.errors import TrustmapError

    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(TrustmapError, match="not a trustmap results store"):
        ResultsStore.open(path)
    assert {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")} == {"people"}
    with pytest.raises(TrustmapError, match="is a folder"):
        ResultsStore.open(tmp_path)


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    ResultsStore.open(path).start_run("train", args={})
    assert ResultsStore.open(path).runs()[0].command == "train"


def test_recorded_writes_to_the_store_or_only_in_memory(tmp_path):
    from trustmap.store import recorded

    store = ResultsStore.open(tmp_path / "s.sqlite")
    with recorded(store, "eval", args={"a": 1}, seed=3) as run:
        run.note(dataset="digits", metrics={"accuracy": 0.5})
        run.note(model_sha256="c" * 64, metrics={"loss": 1.0})
    rec = store.get_run(run.id)
    assert rec.dataset == "digits" and rec.model_sha256 == "c" * 64
    assert rec.metrics == {"accuracy": 0.5, "loss": 1.0} and rec.seed == 3
    with recorded(None, "eval", args={}) as mem:
        mem.note(metrics={"accuracy": 1.0})
    assert mem.id == 0 and len(store.runs()) == 1


def test_limit_must_be_positive(tmp_path):
    from trustmap.errors import TrustmapError

    with pytest.raises(TrustmapError, match="--limit"):
        ResultsStore.open(tmp_path / "s.sqlite").runs(limit=0)
