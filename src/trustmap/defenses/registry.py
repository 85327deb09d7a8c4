"""The defence registry: ``trustmap harden`` and ``trustmap unlearn`` find their methods here.

A defence is a small class with an ``id``, a ``kind`` (``"harden"`` or ``"unlearn"``), a one-line
``summary``, the ``paper`` it follows, and one method to override, :meth:`Defence.run`, which runs it on a
job that the workflow (:mod:`trustmap.defenses.workflows`) prepared: the data chosen, the model built.
The workflow then saves and evaluates what ``run`` returns and records the run in the results store.

Adding a defence is one file, one registry line and one test::

    @register_defence
    class Smooth(HardenDefence):
        id = "smooth"
        summary = "Gaussian data augmentation (sigma = eps)"
        paper = "Certified Adversarial Robustness via Randomized Smoothing, arXiv 1902.02918"

        def run(self, job: HardenJob) -> Defended:
            ...  # train job.model on job.train; return Defended(model, DefenceResult("smooth", seconds))

Its id is then a ``--method`` choice of ``trustmap harden`` (choices and help text come from
:data:`DEFENCES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from torch import nn

from trustmap.data.dataset import Dataset, Split
from trustmap.defenses.base import Defended
from trustmap.registry import Registry

if TYPE_CHECKING:
    from trustmap.models.handle import ModelHandle

KINDS = ("harden", "unlearn")


@dataclass(frozen=True)
class HardenJob:
    """What a ``harden`` defence works on.

    ``model`` is the architecture ``arch`` with its initial weights from ``seed``; ``train`` the chosen
    training images of ``dataset``; ``epochs`` is ``None`` for the defence's own default; ``wrap`` the
    trained model file that an output-perturbation wrapper wraps (``None``: train one), or that a removal
    (``from_model``) starts from, in which case ``model`` is a trainable copy of it and ``source`` the
    loaded file (its metadata).
    """

    dataset: Dataset
    train: Split
    model: nn.Module
    arch: str
    seed: int
    epochs: int | None = None
    eps: float = 0.1
    wrap: Path | None = None
    epsilon: float | None = None  # a privacy budget, for the defences that list "epsilon" in their options
    source: ModelHandle | None = None  # the --model file, loaded, for the defences that start from it


@dataclass(frozen=True)
class UnlearnJob:
    """What an ``unlearn`` defence works on: a trainable copy ``model`` of the model to unlearn from (its
    architecture ``arch`` if the file records one), the ``forget`` and ``remain`` parts of its training
    data from ``dataset``, and a step budget."""

    dataset: Dataset
    model: nn.Module
    arch: str | None
    forget: Split
    remain: Split
    num_classes: int
    steps: int
    seed: int


J = TypeVar("J", HardenJob, UnlearnJob)


class Defence(Generic[J]):
    """Base of every defence. Subclass :class:`HardenDefence` or :class:`UnlearnDefence`, set the class
    attributes and override :meth:`run`."""

    id: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    paper: ClassVar[str] = ""  # "Title, arXiv NNNN.NNNNN"; empty for a plain baseline
    kinds: ClassVar[tuple[str, ...]] = ("image",)  # the data kinds it accepts
    options: ClassVar[tuple[str, ...]] = ()  # optional job fields only this defence reads, e.g. ("epsilon",)
    headline: ClassVar[tuple[str, ...]] = ()  # result metrics the CLI prints after the run

    def run(self, job: J) -> Defended:
        """Run the defence on ``job`` and return the new model, what it cost and what its metadata records.

        ``job.model`` belongs to the workflow (a fresh seeded model, or a trainable copy of the user's), so
        a defence may train it in place or a copy of it; the user's model file is never changed."""
        raise NotImplementedError


class HardenDefence(Defence[HardenJob]):
    """A defence that trains (or wraps) a model: ``trustmap harden``.

    ``wrapper = True`` marks an output-perturbation wrapper around a trained model: the saved file is the
    wrapper, so its metadata records no architecture. ``from_model = True`` marks a removal that repairs an
    existing model (``--model``, required): the job's ``model`` is a trainable copy of it and its
    architecture is the file's.
    """

    kind = "harden"
    wrapper: ClassVar[bool] = False
    from_model: ClassVar[bool] = False


class UnlearnDefence(Defence[UnlearnJob]):
    """A defence that removes part of a model's training data: ``trustmap unlearn``."""

    kind = "unlearn"


def _check(name: str, cls: type[Defence]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, (HardenDefence, UnlearnDefence))):
        raise ValueError(f"defence {name!r} must be a HardenDefence or UnlearnDefence subclass")
    if cls.id != name:
        raise ValueError(f"defence class {cls.__name__} has id {cls.id!r}, registered as {name!r}")
    if not cls.summary:
        raise ValueError(f"defence {name} needs a one-line summary")
    if cls.run is Defence.run:
        raise ValueError(f"defence {name} must override run()")


DEFENCES: Registry[type[Defence]] = Registry(
    "defence",
    builtins=("trustmap.defenses.*",),  # every module of the package: a new defence file needs no list
    check=_check,
    summary=lambda cls: cls.summary,
)


def register_defence(cls: type[Defence]) -> type[Defence]:
    """Class decorator: validate ``cls`` and register it under ``cls.id``."""
    return DEFENCES.add(cls.id, cls)


def _of_kind(kind: str) -> Callable[[type[Defence]], bool]:
    return lambda cls: cls.kind == kind


def defence_ids(kind: str | None = None) -> list[str]:
    """The registered defence ids (of ``kind``, ``"harden"`` or ``"unlearn"``, if given)."""
    return DEFENCES.ids(where=None if kind is None else _of_kind(kind))


def defence_help(kind: str) -> str:
    """``id: summary`` for every defence of ``kind``: the help text of the CLI's ``--method``."""
    return DEFENCES.help(where=_of_kind(kind))


def harden_defence(method: str) -> HardenDefence:
    """A fresh instance of the ``harden`` defence ``method``; a one-line error lists the valid ids."""
    return DEFENCES.get(method, where=_of_kind("harden"), what="harden method")()  # type: ignore[return-value]


def unlearn_defence(method: str) -> UnlearnDefence:
    """A fresh instance of the ``unlearn`` defence ``method``; a one-line error lists the valid ids."""
    return DEFENCES.get(method, where=_of_kind("unlearn"), what="unlearn method")()  # type: ignore[return-value]
