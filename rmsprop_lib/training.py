"""The chapter's training: linear regression on the airfoil data with minibatch updates.

``train_ch7`` drives a hand-written update such as the chapter's
:func:`rmsprop_lib.rmsprop`; ``train_pytorch_ch7`` drives a ``torch.optim.Optimizer`` class.
Both draw the initial weights and the minibatch order from one seeded generator in the same
sequence, so with the same seed and the same update rule they give the same losses. They
return the losses instead of printing and plotting: :mod:`rmsprop_lib.reporting` formats the
chapter's line, :mod:`rmsprop_lib.plotting` draws the curve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from . import _checks

__all__ = ["TrainResult", "linreg", "squared_loss", "train_ch7", "train_pytorch_ch7"]


def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Linear regression :math:`Xw + b`."""
    _check_linreg(X, w, b)
    return X @ w + b


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Half the squared error per example, :math:`(\\hat y - y)^2 / 2` (not averaged)."""
    _check_squared_loss(y_hat, y)
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


@dataclass
class TrainResult:
    """Loss history and timing of one training run.

    ``losses[0]`` is the full-data loss before training, then one value after every
    ``record_every`` examples; ``epochs[i]`` is where ``losses[i]`` was taken, in epochs;
    ``epoch_times`` is the wall time of each epoch in seconds.
    """

    losses: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    epoch_times: list[float] = field(default_factory=list)


def train_ch7(
    optimizer_fn: Callable[[list[Tensor], Any, Any], None],
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
    """Train ``linreg`` from scratch with the update ``optimizer_fn(params, states, hyperparams)``.

    ``w`` starts from N(0, 0.01²) and ``b`` from 0; minibatches are reshuffled every epoch.
    Both draws come from a generator seeded with ``seed``. The full-data loss is recorded at
    the start and after every ``record_every`` examples.
    """
    _check_training(
        "train_ch7",
        optimizer_fn,
        hyperparams,
        features,
        labels,
        batch_size,
        num_epochs,
        seed,
        record_every,
    )
    generator = torch.Generator().manual_seed(seed)
    w = (
        torch.randn(features.shape[1], 1, generator=generator, dtype=features.dtype) * 0.01
    ).requires_grad_()
    b = torch.zeros(1, dtype=features.dtype, requires_grad=True)

    def eval_loss() -> float:
        with torch.no_grad():
            return squared_loss(linreg(features, w, b), labels).mean().item()

    n, result = len(labels), TrainResult([eval_loss()], [0.0])
    for epoch in range(num_epochs):
        start = time.perf_counter()
        for batch_i, (X, y) in enumerate(_data_iter(features, labels, batch_size, generator)):
            loss = squared_loss(linreg(X, w, b), y).mean()  # the minibatch's mean loss
            w.grad = b.grad = None
            loss.backward()
            optimizer_fn([w, b], states, hyperparams)
            if (batch_i + 1) * batch_size % record_every == 0:
                result.losses.append(eval_loss())
                result.epochs.append(epoch + min((batch_i + 1) * batch_size, n) / n)
        result.epoch_times.append(time.perf_counter() - start)
    return result


def train_pytorch_ch7(
    optimizer_fn: Callable[..., torch.optim.Optimizer],
    optimizer_hyperparams: Mapping[str, Any],
    features: Tensor,
    labels: Tensor,
    batch_size: int = 10,
    num_epochs: int = 2,
    *,
    seed: int = 0,
    record_every: int = 100,
) -> TrainResult:
    """Train ``nn.Linear`` with an optimizer class, e.g. ``torch.optim.RMSprop``.

    The model starts from the same draws as :func:`train_ch7` with the same ``seed`` (torch's
    global generator is not touched), and the loss is ``nn.MSELoss()`` halved, which equals
    the mean of :func:`squared_loss`.
    """
    _check_training(
        "train_pytorch_ch7",
        optimizer_fn,
        optimizer_hyperparams,
        features,
        labels,
        batch_size,
        num_epochs,
        seed,
        record_every,
    )
    generator = torch.Generator().manual_seed(seed)
    net = _linear_like_train_ch7(features, generator)
    optimizer = optimizer_fn(net.parameters(), **optimizer_hyperparams)
    loss_fn = nn.MSELoss()

    def eval_loss() -> float:
        with torch.no_grad():
            return (loss_fn(net(features).reshape(-1), labels) / 2).item()

    n, result = len(labels), TrainResult([eval_loss()], [0.0])
    for epoch in range(num_epochs):
        start = time.perf_counter()
        for batch_i, (X, y) in enumerate(_data_iter(features, labels, batch_size, generator)):
            loss = loss_fn(net(X).reshape(-1), y) / 2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (batch_i + 1) * batch_size % record_every == 0:
                result.losses.append(eval_loss())
                result.epochs.append(epoch + min((batch_i + 1) * batch_size, n) / n)
        result.epoch_times.append(time.perf_counter() - start)
    return result


def _data_iter(
    features: Tensor, labels: Tensor, batch_size: int, generator: torch.Generator
) -> Iterator[tuple[Tensor, Tensor]]:
    """Shuffled minibatches (the last one may be smaller), as ``DataLoader(shuffle=True)``."""
    for idx in torch.randperm(len(labels), generator=generator).split(batch_size):
        yield features[idx], labels[idx]


def _linear_like_train_ch7(features: Tensor, generator: torch.Generator) -> nn.Linear:
    """``nn.Linear(d, 1)`` holding the initial ``w``, ``b`` that :func:`train_ch7` draws."""
    d = features.shape[1]
    net = nn.utils.skip_init(nn.Linear, d, 1, dtype=features.dtype)  # no global RNG draw
    with torch.no_grad():
        net.weight.copy_(torch.randn(d, 1, generator=generator, dtype=features.dtype).T * 0.01)
        net.bias.zero_()
    return net


_MAX_SEED = 2**64 - 1  # what torch.Generator.manual_seed accepts


def _check_training(
    where: str,
    optimizer_fn: Any,
    hyperparams: Any,
    features: Any,
    labels: Any,
    batch_size: Any,
    num_epochs: Any,
    seed: Any,
    record_every: Any,
) -> None:
    _checks.check_callable(where, "optimizer_fn", optimizer_fn)
    _checks.check_mapping(
        where, "optimizer_hyperparams" if "pytorch" in where else "hyperparams", hyperparams
    )
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
