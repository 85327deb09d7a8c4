"""The text-generator plugin interface for the trust benchmark (:mod:`trustmap.llm.trust`).

A generator is any object with ONE method, ``generate(prompts: Sequence[str]) -> list[str]`` (one reply
per prompt, same order). Subclass :class:`TextGenerator` and register the class under an id to make it a
``--generator`` choice; the registry refuses a malformed id, a duplicate id, and a class that is not a
:class:`TextGenerator` or leaves ``generate`` abstract. :func:`check_replies` refuses a reply list of the
wrong length or type with a one-line error.

Built-in generators: deterministic template stubs with hand-computable scores (``always-refuse``,
``never-refuse``, ``keyword-refuser``, ``oracle``, ``toxic``), ``echo`` (repeats a memorised text that
continues the prompt, else the prompt: a perfect memoriser of what it is given) and ``tiny-lm`` (the
project's small causal LM, :mod:`trustmap.llm.lm`).

>>> @register_generator("shouty")
... class Shouty(TextGenerator):
...     def generate(self, prompts): return [p.upper() for p in prompts]
>>> make_generator("shouty").generate(["hi"])
['HI']
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from trustmap.errors import TrustmapError
from trustmap.registry import Registry

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = "Sure. Here is a short answer with the steps you asked for."
TOXIC = "Shut up, you stupid idiot. This is crap and you are a worthless moron."
TRIGGER_WORDS = ("kill", "shoot", "steal", "attack", "bomb", "hack", "poison", "gun", "drugs", "blow", "execute")


class TextGenerator(abc.ABC):
    """Override :meth:`generate`: one reply string per prompt, in order."""

    @abc.abstractmethod
    def generate(self, prompts: Sequence[str]) -> list[str]:
        """Replies to ``prompts`` (``len(replies) == len(prompts)``)."""


def _check_generator(name: str, entry: object) -> None:
    if not (inspect.isclass(entry) and issubclass(entry, TextGenerator)):
        raise ValueError(f"generator {name!r} must be a TextGenerator subclass, got {entry!r}")
    if inspect.isabstract(entry):
        raise ValueError(f"generator {name!r} must override generate(prompts) -> list[str]")


GENERATORS: Registry[type[TextGenerator]] = Registry(
    "generator",
    builtins=("trustmap.llm.generators",),
    check=_check_generator,
    summary=lambda cls: (cls.__doc__ or cls.__name__).strip().splitlines()[0],
)


def register_generator(name: str) -> Callable[[type[TextGenerator]], type[TextGenerator]]:
    """Class decorator: add a :class:`TextGenerator` subclass to :data:`GENERATORS` under ``name``."""
    return GENERATORS.register(name)


def make_generator(name: str, **options: Any) -> TextGenerator:
    """An instance of the registered generator ``name`` (``options`` go to its constructor)."""
    return GENERATORS.get(name)(**options)


def check_replies(generator: object, prompts: Sequence[str], replies: object) -> list[str]:
    """``replies`` if it is a list of ``len(prompts)`` strings, else a one-line :class:`TrustmapError`."""
    label = type(generator).__name__
    if not isinstance(replies, (list, tuple)):
        raise TrustmapError(f"{label}.generate must return a list of strings, got {type(replies).__name__}")
    if len(replies) != len(prompts):
        raise TrustmapError(f"{label}.generate returned {len(replies)} replies for {len(prompts)} prompts")
    bad = next((r for r in replies if not isinstance(r, str)), None)
    if bad is not None:
        raise TrustmapError(
            f"{label}.generate returned a {type(bad).__name__}, not a string; return one str per prompt"
        )
    return list(replies)


def _has_word(prompt: str, vocabulary: Sequence[str]) -> bool:
    from trustmap.llm.lm import words

    toks = set(words(prompt))
    return any(w in toks for w in vocabulary)


@register_generator("always-refuse")
class AlwaysRefuse(TextGenerator):
    """Template stub: refuses every prompt."""

    def generate(self, prompts: Sequence[str]) -> list[str]:
        return [REFUSAL for _ in prompts]


@register_generator("never-refuse")
class NeverRefuse(TextGenerator):
    """Template stub: complies with every prompt."""

    def generate(self, prompts: Sequence[str]) -> list[str]:
        return [COMPLIANCE for _ in prompts]


@register_generator("keyword-refuser")
class KeywordRefuser(TextGenerator):
    """Template stub: refuses a prompt that contains a trigger word (kill, shoot, bomb, ...)."""

    def __init__(self, triggers: Sequence[str] = TRIGGER_WORDS) -> None:
        self.triggers = tuple(triggers)

    def generate(self, prompts: Sequence[str]) -> list[str]:
        return [REFUSAL if _has_word(p, self.triggers) else COMPLIANCE for p in prompts]


@register_generator("oracle")
class Oracle(TextGenerator):
    """Template stub: refuses exactly the synthetic harmful requests (it knows their templates)."""

    def generate(self, prompts: Sequence[str]) -> list[str]:
        from trustmap.llm.trust import is_harmful

        return [REFUSAL if is_harmful(p) else COMPLIANCE for p in prompts]


@register_generator("toxic")
class Toxic(TextGenerator):
    """Template stub: answers every prompt with insults."""

    def generate(self, prompts: Sequence[str]) -> list[str]:
        return [TOXIC for _ in prompts]


@register_generator("echo")
class Echo(TextGenerator):
    """Echo: the memorised text that continues the prompt, else the prompt itself."""

    def __init__(self, memory: Sequence[str] = ()) -> None:
        from trustmap.llm.lm import words

        self._memory = [words(m) for m in memory]

    def generate(self, prompts: Sequence[str]) -> list[str]:
        from trustmap.llm.lm import words

        out = []
        for p in prompts:
            w = words(p)
            hit = next((m for m in self._memory if len(m) > len(w) and m[: len(w)] == w), None)
            out.append(" ".join(hit[len(w) :]) if hit else p)
        return out


@register_generator("tiny-lm")
class TinyLMGenerator(TextGenerator):
    """The project's tiny GPT (RT snippets + planted canaries), greedy or sampled continuations."""

    def __init__(
        self,
        lm: Any = None,
        *,
        max_new_tokens: int = 12,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> None:
        if lm is None:
            from trustmap.llm.trust import trust_lm

            lm = trust_lm(seed=seed)
        self.lm, self.max_new_tokens, self.temperature, self.seed = lm, max_new_tokens, temperature, seed

    def generate(self, prompts: Sequence[str]) -> list[str]:
        return self.lm.complete(
            list(prompts), max_new_tokens=self.max_new_tokens, temperature=self.temperature, seed=self.seed
        )


__all__ = [
    "GENERATORS",
    "TextGenerator",
    "check_replies",
    "make_generator",
    "register_generator",
]
