r"""The chapter's RMSProp written from scratch: state initialisation and the update.

.. math::

    \boldsymbol{s}_t \leftarrow \gamma \boldsymbol{s}_{t-1} + (1 - \gamma)\,
        \boldsymbol{g}_t \odot \boldsymbol{g}_t, \qquad
    \boldsymbol{x}_t \leftarrow \boldsymbol{x}_{t-1}
        - \frac{\eta}{\sqrt{\boldsymbol{s}_t + \epsilon}} \odot \boldsymbol{g}_t

with :math:`\epsilon = 10^{-6}` inside the square root. These are the public, checked names:
each checks its arguments and then calls the plain function of the same name in
``rmsprop_lib.lesson``, which the chapter shows. The general update behind
:class:`rmsprop_lib.RMSprop` is :func:`rmsprop_lib.rmsprop_update`. Both give the same
numbers up to float rounding: the general update computes the state with a fused
multiply-add (``addcmul``), where the chapter's formula rounds each product, so a step's
states differ by at most 2.5 machine epsilons relative to the state; given the same state
the parameter steps are bit for bit equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor

from . import _checks, lesson

__all__ = ["init_rmsprop_states", "rmsprop"]

_HYPERPARAMS = {"lr": (0.0, float("inf")), "gamma": (0.0, 1.0)}


def init_rmsprop_states(num_features: int = 5) -> tuple[Tensor, Tensor]:
    """Zero states for ``w`` (shape ``(num_features, 1)``) and ``b`` (shape ``(1,)``)."""
    _checks.check_int("init_rmsprop_states", "num_features", num_features, minimum=1)
    return lesson.init_rmsprop_states(num_features)


def rmsprop(
    params: Sequence[Tensor], states: Sequence[Tensor], hyperparams: Mapping[str, float]
) -> None:
    """One RMSProp step in place; ``hyperparams`` holds ``lr`` (η) and ``gamma`` (γ).

    Checks everything first (lr >= 0 and finite, 0 <= gamma <= 1, where gamma = 1, the
    exercise, keeps s at 0; one state per parameter, of its shape and dtype; every parameter
    has a gradient), then runs the chapter's ``rmsprop_lib.lesson.rmsprop``.
    """
    _checks.check_hyperparams("rmsprop", hyperparams, _HYPERPARAMS)
    _checks.check_params_and_states("rmsprop", params, states)
    lesson.rmsprop(params, states, hyperparams)
