"""The chapter's training: linear regression on the airfoil data with minibatch updates.

``train_ch7`` drives a hand-written update such as the chapter's
:func:`rmsprop_lib.rmsprop`; ``train_pytorch_ch7`` drives a ``torch.optim.Optimizer`` class.
Each public function here checks its arguments and then calls the plain function of the
same name in ``rmsprop_lib.lesson``, the code the chapter shows.
Both draw the initial weights and the minibatch order from one seeded generator in the same
sequence, so with the same seed and the same update rule they give the same losses. They
return the losses instead of printing and plotting: :mod:`rmsprop_lib.reporting` formats the
chapter's line, :mod:`rmsprop_lib.plotting` draws the curve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from . import _checks, lesson
from .lesson import TrainResult

__all__ = ["TrainResult", "linreg", "squared_loss", "train_ch7", "train_pytorch_ch7"]


def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Linear regression :math:`Xw + b`."""
    _check_linreg(X, w, b)
    return lesson.linreg(X, w, b)


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Half the squared error per example, :math:`(\\hat y - y)^2 / 2` (not averaged)."""
    _check_squared_loss(y_hat, y)
    return lesson.squared_loss(y_hat, y)


def train_ch7(
    trainer_fn: Callable[[list[Tensor], Any, Any], None],
    states: Any,
    hyperparams: Mapping[str, float],
    features: Tensor,
    labels: Tensor,
    batch_size: int = 10,
    num_epochs: int = 2,
    *,
    seed: int = 0,
    record_every: int = 100,
) -> TrainResult:
    """Train ``linreg`` from scratch with the update ``trainer_fn(params, states, hyperparams)``.

    ``w`` starts from N(0, 0.01²) and ``b`` from 0; minibatches are reshuffled every epoch.
    Both draws come from a generator seeded with ``seed``. The full-data loss is recorded at
    the start and after every ``record_every`` examples of an epoch.
    """
    _check_training(
        "train_ch7",
        trainer_fn,
        hyperparams,
        features,
        labels,
        batch_size,
        num_epochs,
        seed,
        record_every,
    )
    return lesson.train_ch7(
        trainer_fn,
        states,
        hyperparams,
        features,
        labels,
        batch_size,
        num_epochs,
        seed,
        record_every,
    )


def train_pytorch_ch7(
    trainer_fn: Callable[..., torch.optim.Optimizer],
    hyperparams: Mapping[str, Any],
    features: Tensor,
    labels: Tensor,
    batch_size: int = 10,
    num_epochs: int = 2,
    *,
    seed: int = 0,
    record_every: int = 100,
) -> TrainResult:
    """Train ``nn.Linear`` with an optimizer class, e.g. ``torch.optim.RMSprop``.

    The model starts from the same draws as :func:`train_ch7` with the same ``seed``, and the
    loss is ``nn.MSELoss()`` halved, which equals the mean of :func:`squared_loss`. torch's
    global generator is left as it was (``nn.Linear`` draws its default initialisation from
    it before the chapter's weights replace it).
    """
    _check_training(
        "train_pytorch_ch7",
        trainer_fn,
        hyperparams,
        features,
        labels,
        batch_size,
        num_epochs,
        seed,
        record_every,
    )
    with torch.random.fork_rng(devices=[]):
        return lesson.train_pytorch_ch7(
            trainer_fn,
            hyperparams,
            features,
            labels,
            batch_size,
            num_epochs,
            seed,
            record_every,
        )


_MAX_SEED = 2**64 - 1  # what torch.Generator.manual_seed accepts


def _check_training(
    where: str,
    trainer_fn: Any,
    hyperparams: Any,
    features: Any,
    labels: Any,
    batch_size: Any,
    num_epochs: Any,
    seed: Any,
    record_every: Any,
) -> None:
    _checks.check_callable(where, "trainer_fn", trainer_fn)
    _checks.check_mapping(where, "hyperparams", hyperparams)
    _checks.check_data(where, features, labels)
    _checks.check_int(where, "batch_size", batch_size, minimum=1)
    _checks.check_int(where, "num_epochs", num_epochs, minimum=1)
    _checks.check_int(where, "seed", seed, minimum=0, maximum=_MAX_SEED)
    _checks.check_int(where, "record_every", record_every, minimum=1)


def _check_linreg(X: Any, w: Any, b: Any) -> None:
    _checks.check_tensor("linreg", "X", X, ndim=2)
    _checks.check_tensor("linreg", "w", w, ndim=2)
    _checks.check_tensor("linreg", "b", b, ndim=1)
    if X.shape[1] != w.shape[0] or b.shape[0] not in (1, w.shape[1]):
        raise ValueError(
            f"linreg: shapes do not agree: X {tuple(X.shape)}, w {tuple(w.shape)}, "
            f"b {tuple(b.shape)} (need X (n, d), w (d, k), b (1,) or (k,))"
        )


def _check_squared_loss(y_hat: Any, y: Any) -> None:
    _checks.check_tensor("squared_loss", "y_hat", y_hat)
    _checks.check_tensor("squared_loss", "y", y)
    if y_hat.numel() != y.numel():
        raise ValueError(
            f"squared_loss: y_hat and y must hold the same number of values, got shapes "
            f"{tuple(y_hat.shape)} and {tuple(y.shape)}"
        )
