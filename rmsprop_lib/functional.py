r"""The general RMSProp update behind :class:`rmsprop_lib.RMSprop`, as a function over tensor lists.

.. math::

    g &\leftarrow \nabla_\theta f(\theta) \quad (-\nabla \text{ if maximize}) + \lambda \theta \\
    v &\leftarrow \alpha v + (1 - \alpha)\, g \odot g \\
    \tilde v &\leftarrow v - m \odot m, \quad m \leftarrow \alpha m + (1-\alpha) g
        \quad\text{(centered only)} \\
    d &\leftarrow \sqrt{\tilde v} + \epsilon \quad\text{or}\quad \sqrt{\tilde v + \epsilon}
        \quad\text{(eps\_in\_sqrt)} \\
    \theta &\leftarrow \theta - \eta\, g / d \quad\text{or, with momentum } \mu:\quad
        b \leftarrow \mu b + g / d,\ \theta \leftarrow \theta - \eta b

Two implementations, as in ``torch.optim.rmsprop``: a loop over tensors that reads like the
formulas (``torch.optim.RMSprop``'s CPU default, operation for operation, so bit for bit), and
a multi-tensor one over ``torch._foreach_*`` kernels. Private helpers of ``torch.optim`` are
used where torch has them, so the two libraries group, view and convert exactly alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeAlias, cast

import torch
from torch import Tensor

# Private torch.optim helpers, used so that we behave exactly as torch.optim.RMSprop does:
# ``_to_scalar`` turns a [1] or [1, 1] tensor lr into a 0-dim one (what the kernels accept),
# ``_view_as_real`` views complex tensors of a list as real in place of the list items.
from torch.optim.optimizer import Optimizer, _to_scalar, _view_as_real

__all__ = ["Hyperparams", "count_steps", "rmsprop_update", "update"]


@dataclass(frozen=True, slots=True)
class Hyperparams:
    """One step's hyper-parameters, as ``torch.optim.RMSprop`` names them (ranges are the
    optimizer's to check), plus ``eps_in_sqrt``: add ε inside the square root (the chapter's
    formula) instead of after it (PyTorch's). ``lr`` is a float or a 1-element tensor."""

    lr: float | Tensor
    alpha: float
    eps: float
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    maximize: bool = False
    eps_in_sqrt: bool = False

    @classmethod
    def of_group(cls, group: Mapping[str, Any]) -> Hyperparams:
        """The hyper-parameters of an optimizer's parameter group."""
        return cls(**{name: group[name] for name in _FIELDS})


_FIELDS = tuple(field.name for field in fields(Hyperparams))


def rmsprop_update(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor] | None = None,
    momentum_buffers: list[Tensor] | None = None,
    *,
    lr: float | Tensor,
    alpha: float,
    eps: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    eps_in_sqrt: bool = False,
    foreach: bool = False,
    differentiable: bool = False,
) -> None:
    """Apply one RMSProp step in place to ``params`` and their state tensors.

    Step counters are not touched: the optimizer keeps them.

    Args:
        params: parameters to update (complex ones are updated as their real views, as
            ``torch.optim.RMSprop`` does).
        grads: their gradients, one per parameter.
        square_avgs: moving averages of squared gradients (``v``), updated in place.
        grad_avgs: moving averages of gradients (``m``); one per parameter when ``centered``.
        momentum_buffers: momentum buffers (``b``); one per parameter when ``momentum > 0``.
        lr: learning rate, a float or a 1-element tensor (shape ``[]``, ``[1]``, ``[1, 1]``).
        alpha, eps, weight_decay, momentum, centered, maximize: as in
            ``torch.optim.RMSprop``; their ranges are not validated here (the optimizer does).
        eps_in_sqrt: add ``eps`` inside the square root (the chapter's formula) instead of
            after it (PyTorch's).
        foreach: use the multi-tensor ``torch._foreach_*`` kernels instead of a loop over
            tensors. Both give the same numbers.
        differentiable: keep the update differentiable for autograd (loop only, as in
            torch: the multi-tensor kernels do not support autograd).

    Raises:
        ValueError: when the lists do not match the parameters (naming which list) or a
            tensor ``lr`` has more than one element.
    """
    hyper = Hyperparams(
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
        maximize=maximize,
        eps_in_sqrt=eps_in_sqrt,
    )
    tensors = (params, grads, square_avgs, grad_avgs, momentum_buffers)
    update(tensors, hyper, foreach=foreach, differentiable=differentiable)


# A group's tensor lists, in the order of rmsprop_update's arguments: params, grads,
# square_avgs, grad_avgs (or None), momentum_buffers (or None).
Tensors: TypeAlias = tuple[
    Sequence[Tensor],
    Sequence[Tensor],
    Sequence[Tensor],
    Sequence[Tensor] | None,
    Sequence[Tensor] | None,
]


def update(tensors: Tensors, hyper: Hyperparams, *, foreach: bool, differentiable: bool) -> None:
    """:func:`rmsprop_update` with its tensors and hyper-parameters as two records."""
    params, grads, square_avgs, grad_avgs, momentum_buffers = tensors
    n = len(params)
    if len(grads) != n or len(square_avgs) != n:
        raise ValueError(
            f"rmsprop_update: got {n} params, {len(grads)} grads and {len(square_avgs)} "
            "square_avgs; each list needs one tensor per parameter"
        )
    if hyper.centered and (grad_avgs is None or len(grad_avgs) != n):
        raise ValueError("rmsprop_update: centered=True needs one grad_avg tensor per parameter")
    if hyper.momentum > 0 and (momentum_buffers is None or len(momentum_buffers) != n):
        raise ValueError("rmsprop_update: momentum > 0 needs one momentum buffer per parameter")
    lr = hyper.lr
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    run = _multi_tensor_update if foreach else _single_tensor_update
    run(
        list(params),
        list(grads),
        list(square_avgs),
        list(grad_avgs or []),
        list(momentum_buffers or []),
        replace(hyper, lr=_to_scalar(lr)),
        differentiable,
    )


def _single_tensor_update(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor],
    momentum_buffers: list[Tensor],
    hyper: Hyperparams,
    differentiable: bool,
) -> None:
    lr, alpha, eps, weight_decay = hyper.lr, hyper.alpha, hyper.eps, hyper.weight_decay
    momentum, centered, maximize = hyper.momentum, hyper.centered, hyper.maximize
    eps_in_sqrt = hyper.eps_in_sqrt
    for i, param in enumerate(params):
        grad = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        square_avg = square_avgs[i]
        if torch.is_complex(param):
            param, grad = torch.view_as_real(param), torch.view_as_real(grad)
            square_avg = torch.view_as_real(square_avg)

        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if centered:
            grad_avg = grad_avgs[i]
            grad_avg = torch.view_as_real(grad_avg) if torch.is_complex(grad_avg) else grad_avg
            grad_avg.lerp_(grad, 1 - alpha)
            var = square_avg.addcmul(grad_avg, grad_avg, value=-1)
        else:
            var = square_avg
        if eps_in_sqrt:
            denom = var.add(eps).sqrt_()
        else:
            # sqrt's backward needs its output, so autograd forbids adding eps in place then.
            denom = var.sqrt_() if centered else var.sqrt()
            denom = denom.add(eps) if differentiable else denom.add_(eps)

        # torch's stubs type alpha/value as a number; a 0-dim tensor lr is accepted (read with
        # .item()), exactly as torch.optim.RMSprop passes it.
        if momentum > 0:
            buf = momentum_buffers[i]
            buf = torch.view_as_real(buf) if torch.is_complex(buf) else buf
            buf.mul_(momentum).addcdiv_(grad, denom)
            param.add_(buf, alpha=-lr)  # type: ignore[arg-type]
        else:
            param.addcdiv_(grad, denom, value=-lr)  # type: ignore[arg-type]


def _multi_tensor_update(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor],
    momentum_buffers: list[Tensor],
    hyper: Hyperparams,
    differentiable: bool,
) -> None:
    lr, alpha, eps, weight_decay = hyper.lr, hyper.alpha, hyper.eps, hyper.weight_decay
    momentum, centered, maximize = hyper.momentum, hyper.centered, hyper.maximize
    eps_in_sqrt = hyper.eps_in_sqrt
    if not params:
        return
    if differentiable:
        raise AssertionError("_foreach ops don't support autograd")  # torch's own message
    # Private torch helper (also used by torch.optim.RMSprop): one bucket per device and dtype.
    buckets = Optimizer._group_tensors_by_device_and_dtype(
        [params, grads, square_avgs, grad_avgs, momentum_buffers]  # type: ignore[list-item]
    )
    for (params_, grads_, square_avgs_, grad_avgs_, buffers_), _ in buckets.values():
        p_ = cast(list[Tensor], params_)
        g_ = cast(list[Tensor], grads_)
        v_ = cast(list[Tensor], square_avgs_)
        m_ = cast(list[Tensor], grad_avgs_)
        b_ = cast(list[Tensor], buffers_)
        if any(torch.is_complex(t) for t in p_):
            _view_as_real(p_, g_, v_, *([b_] if momentum > 0 else []), *([m_] if centered else []))
        if maximize:
            g_ = torch._foreach_neg(g_)  # type: ignore[assignment]
        if weight_decay != 0:
            if maximize:  # g_ is already our own copy
                torch._foreach_add_(g_, p_, alpha=weight_decay)
            else:
                g_ = torch._foreach_add(g_, p_, alpha=weight_decay)  # type: ignore[assignment]

        torch._foreach_mul_(v_, alpha)
        torch._foreach_addcmul_(v_, g_, g_, value=1 - alpha)
        # One temporary per parameter, as in the loop: ``denom`` starts as a copy (the centered
        # variance, or the first operation on v) and is finished in place.
        if centered:
            torch._foreach_lerp_(m_, g_, 1 - alpha)
            denom = torch._foreach_addcmul(v_, m_, m_, value=-1)
            if eps_in_sqrt:
                torch._foreach_add_(denom, eps)
                torch._foreach_sqrt_(denom)
            else:
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, eps)
        elif eps_in_sqrt:
            denom = torch._foreach_add(v_, eps)
            torch._foreach_sqrt_(denom)
        else:
            denom = torch._foreach_sqrt(v_)
            torch._foreach_add_(denom, eps)

        if momentum > 0:
            torch._foreach_mul_(b_, momentum)
            torch._foreach_addcdiv_(b_, g_, denom)
            # A tensor lr is read with .item(), as in torch (whose stubs say a number here).
            torch._foreach_add_(p_, b_, alpha=-lr)  # type: ignore[arg-type]
        else:
            torch._foreach_addcdiv_(p_, g_, denom, value=-lr)  # type: ignore[arg-type]


def count_steps(steps: list[Tensor], foreach: bool = False) -> None:
    """Add 1 to each step counter as ``torch.optim.RMSprop`` does: ``step += 1`` per tensor in
    the loop (any dtype), one ``_foreach_add_`` of a wrapped 1 for CPU counters otherwise."""
    if not foreach:
        for step in steps:
            step += 1
    elif steps[0].is_cpu and not torch.compiler.is_compiling():
        torch._foreach_add_(steps, torch.tensor(1.0, device="cpu"), alpha=1.0)
    else:
        torch._foreach_add_(steps, 1)
