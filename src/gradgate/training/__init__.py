"""Training a classifier end to end: the loop behind ``gradgate train``, usable from Python.

from gradgate.training import TrainConfig, fit, format_summary
result = fit(TrainConfig(epochs=10, out=None))
print(format_summary(result))
"""

from .checkpoint import CHECKPOINT_FILE, check_resumable, read_checkpoint
from .config import (
    ACTIVATIONS,
    LECTURE_RECIPE,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    RECIPES,
    SCHEDULES,
    InputError,
    TrainConfig,
    recipe,
)
from .loop import HISTORY_COLUMNS, FitResult, TrainingDiverged, TrainingInterrupted, fit
from .metrics import Evaluation, confusion_matrix, evaluate, format_confusion
from .progress import BarProgress, Callback, LineProgress
from .report import format_summary

__all__ = [
    "ACTIVATIONS",
    "CHECKPOINT_FILE",
    "HISTORY_COLUMNS",
    "LECTURE_RECIPE",
    "LOSSES",
    "MODELS",
    "OPTIMIZERS",
    "RECIPES",
    "SCHEDULES",
    "BarProgress",
    "Callback",
    "Evaluation",
    "FitResult",
    "InputError",
    "LineProgress",
    "TrainConfig",
    "TrainingDiverged",
    "TrainingInterrupted",
    "check_resumable",
    "confusion_matrix",
    "evaluate",
    "fit",
    "format_confusion",
    "format_summary",
    "read_checkpoint",
    "recipe",
]
