r"""The RMSProp update, written once and used by both the chapter's function and the optimizer.

.. math::

    g &\leftarrow \nabla_\theta f(\theta) \quad (-\nabla \text{ if maximize}) + \lambda \theta \\
    v &\leftarrow \alpha v + (1 - \alpha)\, g \odot g \\
    \tilde v &\leftarrow v - m \odot m, \quad m \leftarrow \alpha m + (1-\alpha) g
        \quad\text{(centered only)} \\
    d &\leftarrow \sqrt{\tilde v} + \epsilon \quad\text{or}\quad \sqrt{\tilde v + \epsilon}
        \quad\text{(eps\_in\_sqrt)} \\
    \theta &\leftarrow \theta - \eta\, g / d \quad\text{or, with momentum } \mu:\quad
        b \leftarrow \mu b + g / d,\ \theta \leftarrow \theta - \eta b
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

__all__ = ["rmsprop_update"]


def rmsprop_update(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor] | None = None,
    momentum_buffers: list[Tensor] | None = None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    eps_in_sqrt: bool = False,
    foreach: bool = False,
) -> None:
    """Apply one RMSProp step in place to ``params`` and their state tensors.

    Args:
        params: parameters to update (any dtype torch supports; complex ones are updated as
            their real views, as ``torch.optim.RMSprop`` does).
        grads: their gradients, same shapes.
        square_avgs: moving averages of squared gradients (``v``), updated in place.
        grad_avgs: moving averages of gradients (``m``); needed when ``centered``.
        momentum_buffers: momentum buffers (``b``); needed when ``momentum > 0``.
        lr, alpha, eps, weight_decay, momentum, centered, maximize: as in
            ``torch.optim.RMSprop``; no validation happens here (the optimizer validates).
        eps_in_sqrt: add ``eps`` inside the square root (the chapter's formula) instead of
            after it (PyTorch's).
        foreach: use the multi-tensor ``torch._foreach_*`` kernels instead of a loop over
            tensors. Both give the same numbers.
    """
    if centered and (grad_avgs is None or len(grad_avgs) != len(params)):
        raise ValueError("centered=True needs one grad_avg tensor per parameter")
    if momentum > 0 and (momentum_buffers is None or len(momentum_buffers) != len(params)):
        raise ValueError("momentum > 0 needs one momentum buffer per parameter")
    options = dict(
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
        maximize=maximize,
        eps_in_sqrt=eps_in_sqrt,
    )
    update = _multi_tensor_update if foreach else _single_tensor_update
    update(params, grads, square_avgs, grad_avgs, momentum_buffers, **options)


def _real(tensor: Tensor) -> Tensor:
    return torch.view_as_real(tensor) if torch.is_complex(tensor) else tensor


def _single_tensor_update(
    params, grads, square_avgs, grad_avgs, momentum_buffers,
    *, lr, alpha, eps, weight_decay, momentum, centered, maximize, eps_in_sqrt,
):
    for i, param in enumerate(params):
        grad = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        param, grad, square_avg = _real(param), _real(grad), _real(square_avgs[i])

        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if centered:
            grad_avg = _real(grad_avgs[i])
            grad_avg.lerp_(grad, 1 - alpha)
            var = square_avg.addcmul(grad_avg, grad_avg, value=-1)
            denom = var.add_(eps).sqrt_() if eps_in_sqrt else var.sqrt_().add_(eps)
        else:
            denom = square_avg.add(eps).sqrt_() if eps_in_sqrt else square_avg.sqrt().add_(eps)

        if momentum > 0:
            buf = _real(momentum_buffers[i])
            buf.mul_(momentum).addcdiv_(grad, denom)
            param.add_(buf, alpha=-lr)
        else:
            param.addcdiv_(grad, denom, value=-lr)


def _group_by_device_and_dtype(*lists):
    """Split parallel tensor lists into groups that share device and dtype (foreach needs it)."""
    groups = defaultdict(lambda: tuple([] for _ in lists))
    for i, param in enumerate(lists[0]):
        group = groups[(param.device, param.dtype)]
        for out, tensors in zip(group, lists):
            if tensors is not None:
                out.append(tensors[i])
    return [tuple(g if src is not None else None for g, src in zip(group, lists))
            for group in groups.values()]


def _multi_tensor_update(
    params, grads, square_avgs, grad_avgs, momentum_buffers,
    *, lr, alpha, eps, weight_decay, momentum, centered, maximize, eps_in_sqrt,
):
    if not params:
        return
    for params_, grads_, square_avgs_, grad_avgs_, buffers_ in _group_by_device_and_dtype(
        params, grads, square_avgs, grad_avgs if centered else None,
        momentum_buffers if momentum > 0 else None,
    ):
        params_, square_avgs_ = [_real(t) for t in params_], [_real(t) for t in square_avgs_]
        grads_ = [_real(t) for t in grads_]
        if maximize:
            grads_ = torch._foreach_neg(grads_)
        if weight_decay != 0:
            grads_ = torch._foreach_add(grads_, params_, alpha=weight_decay)

        torch._foreach_mul_(square_avgs_, alpha)
        torch._foreach_addcmul_(square_avgs_, grads_, grads_, value=1 - alpha)
        # One temporary per parameter, as in the loop: ``denom`` starts as a copy (the centered
        # variance, or the first operation on v) and is finished in place.
        if centered:
            grad_avgs_ = [_real(t) for t in grad_avgs_]
            torch._foreach_lerp_(grad_avgs_, grads_, 1 - alpha)
            denom = torch._foreach_addcmul(square_avgs_, grad_avgs_, grad_avgs_, value=-1)
            if eps_in_sqrt:
                torch._foreach_add_(denom, eps)
                torch._foreach_sqrt_(denom)
            else:
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, eps)
        elif eps_in_sqrt:
            denom = torch._foreach_add(square_avgs_, eps)
            torch._foreach_sqrt_(denom)
        else:
            denom = torch._foreach_sqrt(square_avgs_)
            torch._foreach_add_(denom, eps)

        if momentum > 0:
            buffers_ = [_real(t) for t in buffers_]
            torch._foreach_mul_(buffers_, momentum)
            torch._foreach_addcdiv_(buffers_, grads_, denom)
            torch._foreach_add_(params_, buffers_, alpha=-lr)
        else:
            torch._foreach_addcdiv_(params_, grads_, denom, value=-lr)
