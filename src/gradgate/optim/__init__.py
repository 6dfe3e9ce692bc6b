"""Optimisers, learning-rate schedules and gradient clipping, as ``torch.optim``.

    opt = optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad(); loss.backward(); opt.step()
"""

from .adam import Adam, AdamW
from .clip import clip_grad_norm_
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
]
