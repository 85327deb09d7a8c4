"""One interface for text tasks: processors -> models -> applications (after HugNLP, arXiv 2302.14286).

``run_text_task(task=..., model=..., data=...)`` trains and scores any registered task through the
existing registries: datasets (:mod:`trustmap.data`), architectures with task heads
(:mod:`trustmap.models.text_heads`) and adaptation methods (:mod:`trustmap.adapt.methods`), plus the
processor, application and task registries of this package. See ``docs/text.md``.

>>> res = run_text_task(task="opinion-tags", model="minilm", use_freezing=True, train_size=1500)
>>> res.score, res.baseline_score, res.trainable
"""

from trustmap.text.apps import (
    TEXT_TASKS,
    TaskInfo,
    TaskNet,
    TextTaskResult,
    register_task,
    resolve_model,
    run_text_task,
)
from trustmap.text.bald import bald_sample, bald_scores, mc_dropout_probs
from trustmap.text.metrics import APPLICATIONS, Application
from trustmap.text.processors import PROCESSORS, Encoded, Processor, processor, register_processor

__all__ = [
    "APPLICATIONS",
    "PROCESSORS",
    "TEXT_TASKS",
    "Application",
    "Encoded",
    "Processor",
    "TaskInfo",
    "TaskNet",
    "TextTaskResult",
    "bald_sample",
    "bald_scores",
    "mc_dropout_probs",
    "processor",
    "register_processor",
    "register_task",
    "resolve_model",
    "run_text_task",
]
