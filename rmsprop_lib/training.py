"""The chapter's training: linear regression on the airfoil data with minibatch RMSProp.

``train_ch7`` drives a hand-written update (the chapter's ``rmsprop``); ``train_pytorch_ch7``
drives any ``torch.optim.Optimizer`` class. Both draw the initial weights and the minibatch
order from one seeded generator in the same sequence, so with the same seed and the same
update rule they give the same losses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from .functional import rmsprop_update

__all__ = [
    "linreg",
    "squared_loss",
    "init_rmsprop_states",
    "rmsprop",
    "TrainResult",
    "train_ch7",
    "train_pytorch_ch7",
]


def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Linear regression :math:`Xw + b`."""
    return X @ w + b


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Half the squared error per example, :math:`(\\hat y - y)^2 / 2` (not averaged)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def init_rmsprop_states(num_features: int = 5) -> tuple[Tensor, Tensor]:
    """Zero states :math:`s` for ``w`` (shape ``(num_features, 1)``) and ``b`` (shape ``(1,)``)."""
    return torch.zeros((num_features, 1)), torch.zeros(1)


def rmsprop(params: Sequence[Tensor], states: Sequence[Tensor], hyperparams: dict) -> None:
    """The chapter's update: :math:`s \\leftarrow \\gamma s + (1-\\gamma) g \\odot g`,
    :math:`x \\leftarrow x - \\eta g / \\sqrt{s + \\epsilon}`.

    ``hyperparams`` holds ``lr`` (η) and ``gamma`` (γ), optionally ``eps`` (ε, default 1e-6).
    Any γ in [0, 1] works, including γ = 1 (then s stays 0 and the step is η g / √ε).
    """
    missing = {"lr", "gamma"} - hyperparams.keys()
    if missing:
        raise KeyError(f"rmsprop: hyperparams is missing {sorted(missing)}")
    rmsprop_update(
        [p.detach() for p in params],
        [p.grad for p in params],
        list(states),
        lr=hyperparams["lr"],
        alpha=hyperparams["gamma"],
        eps=hyperparams.get("eps", 1e-6),
        eps_in_sqrt=True,
    )


@dataclass
class TrainResult:
    """Loss history and timing of one training run.

    ``losses[0]`` is the full-data loss before training, then one value after every
    ``record_every`` examples; ``epochs[i]`` is where ``losses[i]`` was taken, in epochs;
    ``epoch_times`` is the wall time of each epoch in seconds.
    """

    losses: list[float]
    epochs: list[float]
    epoch_times: list[float]


def _minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    order = torch.randperm(n, generator=generator)
    return iter(order.split(batch_size))


def _check_data(features: Tensor, labels: Tensor, batch_size: int, num_epochs: int) -> None:
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(
            "features must be (n, d) and labels (n,), got "
            f"{tuple(features.shape)} and {tuple(labels.shape)}"
        )
    if batch_size < 1 or num_epochs < 0:
        raise ValueError(f"need batch_size >= 1 and num_epochs >= 0, got {batch_size}, {num_epochs}")


def _train(
    forward: Callable[[Tensor], Tensor],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    step: Callable[[Tensor], None],
    features: Tensor,
    labels: Tensor,
    batch_size: int,
    num_epochs: int,
    generator: torch.Generator,
    record_every: int,
) -> TrainResult:
    """The loop both trainers share.

    ``loss_fn(y_hat, y)`` is the mean loss of a batch; ``step(loss)`` backpropagates it and
    updates the model. The full-data loss is recorded first and after every ``record_every``
    examples.
    """
    n = features.shape[0]

    def full_loss() -> float:
        with torch.no_grad():
            return loss_fn(forward(features), labels).item()

    losses, epochs, epoch_times = [full_loss()], [0.0], []
    for epoch in range(num_epochs):
        start = time.perf_counter()
        for batch_i, idx in enumerate(_minibatches(n, batch_size, generator)):
            loss = loss_fn(forward(features[idx]), labels[idx])
            step(loss)
            seen = (batch_i + 1) * batch_size
            if seen % record_every == 0:
                losses.append(full_loss())
                epochs.append(epoch + min(seen, n) / n)
        epoch_times.append(time.perf_counter() - start)
    return TrainResult(losses, epochs, epoch_times)


def train_ch7(
    optimizer_fn: Callable[[list[Tensor], Sequence[Tensor], dict], None],
    states: Sequence[Tensor],
    hyperparams: dict,
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
    Both draws come from a generator seeded with ``seed``.
    """
    _check_data(features, labels, batch_size, num_epochs)
    generator = torch.Generator().manual_seed(seed)
    w = (torch.randn(features.shape[1], 1, generator=generator) * 0.01).requires_grad_()
    b = torch.zeros(1, requires_grad=True)

    def step(loss: Tensor) -> None:
        w.grad = b.grad = None
        loss.backward()
        optimizer_fn([w, b], states, hyperparams)

    def loss_fn(y_hat: Tensor, y: Tensor) -> Tensor:
        return squared_loss(y_hat, y).mean()

    return _train(lambda X: linreg(X, w, b), loss_fn, step, features, labels,
                  batch_size, num_epochs, generator, record_every)


def train_pytorch_ch7(
    optimizer_fn: Callable[..., torch.optim.Optimizer],
    optimizer_hyperparams: dict,
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
    loss is ``nn.MSELoss()`` halved, which equals the mean of :func:`squared_loss`.
    """
    _check_data(features, labels, batch_size, num_epochs)
    generator = torch.Generator().manual_seed(seed)
    net = nn.Linear(features.shape[1], 1)
    with torch.no_grad():
        net.weight.copy_(torch.randn(features.shape[1], 1, generator=generator).T * 0.01)
        net.bias.zero_()
    optimizer = optimizer_fn(net.parameters(), **optimizer_hyperparams)
    mse = nn.MSELoss()

    def step(loss: Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def loss_fn(y_hat: Tensor, y: Tensor) -> Tensor:
        return mse(y_hat.reshape(-1), y) / 2

    return _train(net, loss_fn, step, features, labels,
                  batch_size, num_epochs, generator, record_every)
