"""Procedural RPMs (repro vitcn): seeded, rules hold in every row, candidates distinct, shortcut measured."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.raven import LEVELS, mode_guess, raven_puzzles, render
from trustmap.errors import DataError


def _attrs_of(panel: np.ndarray) -> tuple[int, int, int]:
    for c in range(3):
        for s in range(5):
            for p in range(4):
                if np.array_equal(render(c, s, p), panel):
                    return c, s, p
    raise AssertionError("panel not renderable")


def test_puzzles_are_seeded_and_every_row_follows_its_rule():
    p = raven_puzzles(40, seed=0)
    assert np.array_equal(p.context, raven_puzzles(40, seed=0).context)
    assert not np.array_equal(p.context, raven_puzzles(40, seed=1).context)
    assert p.context.shape == (40, 8, 20, 20) and set(np.unique(p.candidates)) <= {0.0, 1.0}
    for i in range(40):
        panels = [_attrs_of(p.context[i, k]) for k in range(8)] + [tuple(p.attributes[i, p.answer[i]])]
        grid = np.array(panels).reshape(3, 3, 3)  # row, column, attribute
        for a in range(3):
            rule, rows = p.rules[i, a], grid[:, :, a]
            if rule == 0:
                assert (rows == rows[:, :1]).all()
            elif rule == 1:
                steps = (rows[:, 1:] - rows[:, :-1]) % LEVELS[a] if a == 2 else rows[:, 1:] - rows[:, :-1]
                assert len(np.unique(steps)) == 1
            else:
                expect = (rows[:, 0] + rows[:, 1]) % 4 if a == 2 else rows[:, 0] + rows[:, 1] + (a == 0)
                assert (rows[:, 2] == expect).all()
        assert len({tuple(c) for c in p.attributes[i]}) == 8  # all candidates differ


def test_balanced_distractors_remove_the_context_blind_shortcut():
    bal = raven_puzzles(300, seed=0)
    one = raven_puzzles(300, seed=0, distractors="one-attribute")
    assert np.mean(mode_guess(one) == one.answer) == 1.0
    assert np.mean(mode_guess(bal) == bal.answer) < 0.25
    for a in range(3):  # each attribute value of the answer appears in exactly half the candidates
        assert all((bal.attributes[i, :, a] == bal.attributes[i, bal.answer[i], a]).sum() == 4 for i in range(300))


def test_bad_arguments_are_data_errors():
    with pytest.raises(DataError, match="distractor"):
        raven_puzzles(3, seed=0, distractors="random")
    with pytest.raises(DataError, match="at least 1"):
        raven_puzzles(0, seed=0)
