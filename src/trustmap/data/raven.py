"""Procedural Raven-style progressive matrices (RPMs), for ``trustmap repro vitcn``.

**Synthetic data.** RAVEN is not available offline, so :func:`raven_puzzles` generates puzzles in the
project, seeded and deterministic *(ours: every law and parameter)*. A panel is 20x20 with a 2x2 grid of
10x10 slots; it shows ``count`` (1-3) filled squares of side ``2 + size`` (``size`` 0-4) in consecutive
slots (clockwise from top-left) starting at ``position`` (0-3). A puzzle is a 3x3 matrix whose rows
follow one rule per attribute: 1 or 2 attributes get a rule drawn from constant, progression (+1 or -1
per column, the same step in every row) and arithmetic (column 3 = column 1 + column 2; modulo 4 for
position); the other attributes are constant along each row. Every row draws its own values.

The 8 answer candidates are the true 9th panel and 7 distractors:

- ``distractors="one-attribute"`` (methods.md): each distractor changes one attribute of the answer.
  This has RAVEN's known shortcut (Hu et al., I-RAVEN, arXiv 2002.06838): the answer holds the most
  common value of every attribute among the candidates, so :func:`mode_guess` solves it without the
  context.
- ``distractors="balanced"`` (I-RAVEN style, the default): one alternative value per attribute and all
  2x2x2 combinations, so every attribute value appears in exactly 4 of the 8 candidates and the candidates
  alone say nothing about the answer.

Shapes: ``context`` ``(N, 8, 20, 20)``, ``candidates`` ``(N, 8, 20, 20)`` float32 in {0, 1};
``answer`` ``(N,)`` int64 (0-7); ``attributes`` ``(N, 8, 3)`` (count index, size, position) of the
candidates.

>>> p = raven_puzzles(10, seed=0)
>>> p.context.shape, p.candidates.shape, p.answer.shape
((10, 8, 20, 20), (10, 8, 20, 20), (10,))
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError

LEVELS = (3, 5, 4)  # count (1-3), size (0-4), position (0-3)
RULES = ("constant", "progression", "arithmetic")
DISTRACTORS = ("balanced", "one-attribute")
PANEL = 20


@dataclass(frozen=True)
class Puzzles:
    context: np.ndarray
    candidates: np.ndarray
    answer: np.ndarray
    attributes: np.ndarray
    rules: np.ndarray  # (N, 3) rule index per attribute

    def __len__(self) -> int:
        return len(self.answer)


def render(count: int, size: int, position: int) -> np.ndarray:
    """One ``(20, 20)`` panel: ``count + 1`` squares of side ``2 + size`` from slot ``position``."""
    img = np.zeros((PANEL, PANEL), np.float32)
    side = 2 + size
    for k in range(count + 1):
        slot = (position + k) % 4
        r0, c0 = (0, 0, 10, 10)[slot], (0, 10, 10, 0)[slot]
        off = (10 - side) // 2
        img[r0 + off : r0 + off + side, c0 + off : c0 + off + side] = 1.0
    return img


def _row(rule: int, attr: int, step: int, rng: np.random.Generator) -> list[int]:
    n = LEVELS[attr]
    if rule == 0:
        v = int(rng.integers(n))
        return [v, v, v]
    if rule == 1:
        if attr == 2:
            v = int(rng.integers(n))
            return [v, (v + step) % n, (v + 2 * step) % n]
        v = int(rng.integers(2, n)) if step < 0 else int(rng.integers(0, n - 2))
        return [v, v + step, v + 2 * step]
    if attr == 2:
        a, b = (int(x) for x in rng.integers(n, size=2))
        return [a, b, (a + b) % n]
    if attr == 0:  # counts 1-3: 1 + 1 = 2, 1 + 2 = 3, 2 + 1 = 3 (as indices 0, 1, 2)
        a, b = [(0, 0), (0, 1), (1, 0)][int(rng.integers(3))]
        return [a, b, a + b + 1]
    a = int(rng.integers(0, n))
    b = int(rng.integers(0, n - a))
    return [a, b, a + b]


def _distractors(answer: np.ndarray, mode: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    if mode == "balanced":
        alts = [int((answer[a] + rng.integers(1, LEVELS[a])) % LEVELS[a]) for a in range(3)]
        cands = np.array(
            [[alts[a] if flip[a] else answer[a] for a in range(3)] for flip in itertools.product((0, 1), repeat=3)]
        )
    else:
        changes = [(a, v) for a in range(3) for v in range(LEVELS[a]) if v != answer[a]]
        pick = rng.choice(len(changes), 7, replace=False)
        cands = np.repeat(answer[None], 8, 0)
        for i, j in enumerate(pick, start=1):
            a, v = changes[j]
            cands[i, a] = v
    order = rng.permutation(8)
    return cands[order], int(np.flatnonzero(order == 0)[0])


def raven_puzzles(n: int, *, seed: int, distractors: str = "balanced") -> Puzzles:
    """``n`` seeded puzzles (see the module docstring)."""
    if n < 1:
        raise DataError(f"need at least 1 puzzle, got {n}")
    if distractors not in DISTRACTORS:
        raise DataError(f"unknown distractor scheme {distractors!r}; use {', '.join(DISTRACTORS)}")
    rng = np.random.default_rng(seed)
    ctx = np.zeros((n, 8, PANEL, PANEL), np.float32)
    cand = np.zeros((n, 8, PANEL, PANEL), np.float32)
    answer = np.zeros(n, np.int64)
    attrs = np.zeros((n, 8, 3), np.int64)
    rules = np.zeros((n, 3), np.int64)
    for i in range(n):
        ruled = rng.choice(3, int(rng.integers(1, 3)), replace=False)
        rule = np.zeros(3, np.int64)
        rule[ruled] = rng.integers(0, 3, size=len(ruled))
        steps = rng.choice([-1, 1], size=3)
        grid = np.stack([np.array([_row(rule[a], a, int(steps[a]), rng) for a in range(3)]).T for _ in range(3)])
        panels = grid.reshape(9, 3)  # (row-major panel, attribute)
        for k in range(8):
            ctx[i, k] = render(*panels[k])
        cands, answer[i] = _distractors(panels[8], distractors, rng)
        for k in range(8):
            cand[i, k] = render(*cands[k])
        attrs[i], rules[i] = cands, rule
    return Puzzles(ctx, cand, answer, attrs, rules)


def mode_guess(p: Puzzles) -> np.ndarray:
    """The context-blind guess: the candidate agreeing most with the candidates' per-attribute modes."""
    guesses = np.zeros(len(p), np.int64)
    for i, a in enumerate(p.attributes):
        modes = [np.bincount(a[:, k], minlength=LEVELS[k]).argmax() for k in range(3)]
        guesses[i] = int(np.argmax((a == np.array(modes)).sum(1)))
    return guesses
