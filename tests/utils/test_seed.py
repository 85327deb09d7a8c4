"""``check_seed``: the one seed check every command and workflow uses (0 <= seed < 2**32)."""

import numpy as np
import pytest

from trustmap.errors import TrustmapError
from trustmap.utils.seed import check_seed


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, np.int64(7)])
def test_valid_seeds_pass_through_as_int(seed):
    out = check_seed(seed)
    assert out == int(seed) and type(out) is int


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, 1.0, "3", None, True])
def test_invalid_seeds_are_one_line_errors(seed):
    with pytest.raises(TrustmapError, match=r"--seed must be a whole number from 0 to 4294967295") as err:
        check_seed(seed)
    assert "\n" not in str(err.value)


def test_every_seed_option_of_the_cli_uses_the_shared_check():
    """No command may declare its own --seed: each one's callback is the shared check in cli/context."""
    import click
    import typer

    from trustmap.cli import context
    from trustmap.cli.app import app

    seen = []

    def walk(cmd: click.Command, name: str) -> None:
        for p in cmd.params:
            if "--seed" in p.opts:
                seen.append(name)
                assert p.callback is not None, name
                with pytest.raises(TrustmapError):
                    p.callback(None, p, -1)
        for sub_name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{name} {sub_name}")

    walk(typer.main.get_command(app), "trustmap")
    assert {"trustmap train", "trustmap audit", "trustmap demo", "trustmap compare", "trustmap fl run"} <= set(seen)
    assert context.seed_option().callback is not None
