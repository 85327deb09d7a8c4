"""``TRUSTMAP_THREADS``: every repro runs on the thread count it names, and a bad value is a clear error."""

import pytest
import torch

from trustmap.errors import TrustmapError
from trustmap.utils import set_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_set_threads_follows_the_environment(monkeypatch, restore_threads):
    monkeypatch.setenv("TRUSTMAP_THREADS", "3")
    assert set_threads() == 3 and torch.get_num_threads() == 3
    monkeypatch.delenv("TRUSTMAP_THREADS")
    assert set_threads() == 2 and torch.get_num_threads() == 2  # the project's convention (2 threads)


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5", ""])
def test_a_bad_thread_count_is_a_one_line_error(monkeypatch, restore_threads, bad):
    monkeypatch.setenv("TRUSTMAP_THREADS", bad)
    with pytest.raises(TrustmapError, match="TRUSTMAP_THREADS") as err:
        set_threads()
    assert "\n" not in str(err.value)


def test_every_registered_repro_runs_on_the_configured_threads(monkeypatch, restore_threads):
    from trustmap.repro import base

    seen = []

    def experiment(*, size, seed, progress):
        seen.append(torch.get_num_threads())
        return base.ReproResult(method="probe-threads", claim="c.", rows=[], size=size)

    with base.REPROS.scoped():  # the registration below does not leak
        base.register_repro("probe-threads", title="t", arxiv="2209.07534")(experiment)
        torch.set_num_threads(1)
        monkeypatch.setenv("TRUSTMAP_THREADS", "2")
        base.repro_info("probe-threads").run(size="quick", seed=0, progress=False)
    assert seen == [2]


def test_every_command_applies_the_thread_count(monkeypatch, restore_threads, capsys, tmp_path):
    """Not only repro: the CLI root sets the threads (and refuses a bad value) for every command."""
    from tests.cli.helpers import run_cli

    monkeypatch.setenv("TRUSTMAP_THREADS", "3")
    torch.set_num_threads(1)
    assert run_cli(capsys, "runs").code == 0
    assert torch.get_num_threads() == 3
    monkeypatch.setenv("TRUSTMAP_THREADS", "abc")
    res = run_cli(capsys, "data", "list")
    assert res.code == 2 and "TRUSTMAP_THREADS='abc'" in res.err and "Traceback" not in res.err
