"""``RMSprop``: a drop-in replacement for ``torch.optim.RMSprop`` that can also use the chapter's ε."""

from __future__ import annotations

import math

import torch

from . import fused as _fused
from .functional import rmsprop_update

__all__ = ["RMSprop"]


def _scalar_dtype() -> torch.dtype:
    # The dtype torch.optim uses for the ``step`` counter.
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class RMSprop(torch.optim.Optimizer):
    r"""RMSProp, a drop-in for ``torch.optim.RMSprop``: the same update, options and state.

    With ``foreach=False`` it is step for step bit-identical to ``torch.optim.RMSprop``
    (unless ``eps_in_sqrt=True``); by default it runs a fused kernel equal to it to rounding.

    With learning rate :math:`\eta` (``lr``), smoothing constant :math:`\alpha` (``alpha``, the
    chapter's :math:`\gamma`), weight decay :math:`\lambda`, momentum :math:`\mu` and
    :math:`\epsilon` (``eps``), one step on a parameter :math:`\theta` with gradient :math:`g` is

    .. math::

        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha)\, g_t \odot g_t \\
        m_t &= \alpha m_{t-1} + (1 - \alpha)\, g_t, \qquad
            \tilde v_t = v_t - m_t \odot m_t \quad \text{(centered; otherwise } \tilde v_t = v_t) \\
        d_t &= \sqrt{\tilde v_t} + \epsilon \quad \text{(default)}, \qquad
            d_t = \sqrt{\tilde v_t + \epsilon} \quad \text{(eps\_in\_sqrt=True)} \\
        b_t &= \mu b_{t-1} + g_t / d_t, \qquad \theta_t = \theta_{t-1} - \eta\, b_t
            \quad \text{(momentum; otherwise } \theta_t = \theta_{t-1} - \eta\, g_t / d_t)

    where :math:`v_0 = m_0 = b_0 = 0` and the sign of the gradient is minus when ``maximize``.

    .. warning::
        **Where ε goes.** PyTorch adds ε *after* the square root, :math:`\sqrt{v_t} + \epsilon`;
        the book's chapter (like TensorFlow, Keras and optax by default) adds it *inside*,
        :math:`\sqrt{v_t + \epsilon}`. The default here is PyTorch's, so this class is a drop-in
        replacement; ``eps_in_sqrt=True`` gives the chapter's formula. The two differ most while
        :math:`v_t` is small compared with ε.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\eta` (default 1e-2), at least 0.
        alpha: smoothing constant :math:`\alpha` (default 0.99), in [0, 1]. Torch accepts
            values above 1, where :math:`v_t` is no longer an average and grows without
            bound; this class rejects them. ``alpha=1`` is allowed (the state then stays 0).
        eps: :math:`\epsilon` (default 1e-8), at least 0. With ``eps=0`` a coordinate whose
            :math:`\tilde v_t` is 0 (for example one whose gradients have all been 0) gets
            0/0 = NaN, exactly as in torch.
        weight_decay: coupled L2 penalty :math:`\lambda` (default 0), at least 0.
        momentum: momentum factor :math:`\mu` (default 0), in [0, 1). Torch accepts
            :math:`\mu \ge 1`, where the buffer never decays; this class rejects it.
        centered: divide by an estimate of the gradient's variance,
            :math:`v_t - m_t^2`, instead of its second moment (default False). In exact
            arithmetic this is never negative, but in floating point it can round to a
            small negative number once the gradient has stayed nearly constant; like torch,
            nothing clamps it, so the square root gives NaN in the default placement. With
            ``eps_in_sqrt=True`` such values are absorbed by ε as long as they stay above
            :math:`-\epsilon`.
        maximize: maximize the objective instead of minimizing it (default False).
        foreach: use the multi-tensor implementation. ``None`` (the default) leaves the
            choice to ``fused``: see below. Loop and multi-tensor give the same numbers,
            and the loop (``foreach=False``) is ``torch.optim.RMSprop``'s CPU default, bit
            for bit.
        fused: run the whole update, every option included, as one pass over memory per
            parameter with a small compiled C kernel (CPU, float32/float64 and complex as
            real views); about 4× faster than torch's default on large parameters (see the
            book's performance appendix). ``True`` compiles the kernel in the constructor
            (once per machine: it is cached on disk, and
            :func:`rmsprop_lib.fused.build_info` reports what that cost) and raises
            :class:`~rmsprop_lib.fused.FusedUnavailableError` saying why when it cannot be
            built (no C compiler) or a parameter is on another device or of another dtype.
            ``None`` (the default) fuses when it can: with ``foreach`` also ``None``, a
            group whose parameters can be fused uses the kernel (compiled at the first
            step), and otherwise falls back to the multi-tensor update, without an error
            (``build_info()["error"]`` says why). ``False``, or an explicit ``foreach``,
            never fuses; ``fused=False`` with ``foreach=None`` is torch's CPU default, the
            per-tensor loop. The kernel agrees with the loop to rounding, not bit for bit
            (torch's kernels fuse some multiply-adds and their square roots are not always
            correctly rounded); pass ``foreach=False`` to reproduce ``torch.optim.RMSprop`` exactly.
            A parameter whose gradient has a different memory layout from it is updated
            without the kernel.
        eps_in_sqrt: put ε inside the square root, as the chapter does (default False).

    State per parameter (created at its first step with a gradient, as in torch, so
    ``state_dict`` files load into either class): ``step`` (0-dim tensor), ``square_avg``
    (:math:`v`), ``momentum_buffer`` (:math:`b`, when momentum > 0) and ``grad_avg``
    (:math:`m`, when centered).

    References:
        Tieleman, T. & Hinton, G. (2012). Lecture 6.5, "rmsprop: Divide the gradient by a
        running average of its recent magnitude". Coursera: Neural Networks for Machine
        Learning.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        *,
        eps_in_sqrt: bool = False,
    ) -> None:
        # The first five checks and their messages are torch's, in torch's order.
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        # Where torch accepts nonsense, say why it is rejected.
        if alpha > 1.0:
            raise ValueError(
                f"Invalid alpha value: {alpha} (must be at most 1: above 1 the square "
                "average is not an average and grows without bound)"
            )
        if momentum >= 1.0:
            raise ValueError(
                f"Invalid momentum value: {momentum} (must be below 1: at 1 or above "
                "the momentum buffer never decays)"
            )
        if not math.isfinite(lr):
            raise ValueError(f"Invalid learning rate: {lr} (must be finite)")
        if fused and foreach:
            raise ValueError("`fused` and `foreach` cannot be `True` together.")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
            eps_in_sqrt=eps_in_sqrt,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; with ``fused=True`` its parameters are checked and the kernel built."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if group.get("fused"):
            if group.get("foreach"):
                raise ValueError("`fused` and `foreach` cannot be `True` together.")
            where = f" of group {len(self.param_groups) - 1}"
            try:
                _fused.check_fusable(group["params"], where=where)
                _fused.load_kernel()  # build now: errors and compile time surface here
            except Exception:
                self.param_groups.pop()  # leave no half-added group behind
                raise

    def __setstate__(self, state):
        # Accept torch.optim.RMSprop state dicts, whose groups lack our keys.
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("fused", None)
            group.setdefault("eps_in_sqrt", False)

    def _init_group(self, group):
        """Collect the parameters that have a gradient, creating their state on first use."""
        params, grads, square_avgs, grad_avgs, buffers, steps = [], [], [], [], [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("RMSprop does not support sparse gradients")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = torch.zeros((), dtype=_scalar_dtype())
                state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if group["momentum"] > 0:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                if group["centered"]:
                    state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            params.append(p)
            grads.append(p.grad)
            square_avgs.append(state["square_avg"])
            steps.append(state["step"])
            if group["momentum"] > 0:
                buffers.append(state["momentum_buffer"])
            if group["centered"]:
                grad_avgs.append(state["grad_avg"])
        return params, grads, square_avgs, grad_avgs, buffers, steps

    @staticmethod
    def _fuses(group, params) -> bool:
        """Whether this group's step runs the fused kernel (only when ``fused=True``)."""
        return bool(group["fused"])

    @staticmethod
    def _foreach(group, params) -> bool:
        """Multi-tensor or per-tensor for what is not fused, with torch's choice for ``None``."""
        if group["foreach"] is not None:
            return group["foreach"]
        if group["fused"]:
            return True  # a group the kernel cannot take as it is
        return params[0].device.type != "cpu"  # torch's default: the loop on CPU

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, square_avgs, grad_avgs, buffers, steps = self._init_group(group)
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            options = dict(
                lr=group["lr"],
                alpha=group["alpha"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
                centered=group["centered"],
                maximize=group["maximize"],
                eps_in_sqrt=group["eps_in_sqrt"],
            )
            state_lists = (params, grads, square_avgs, grad_avgs, buffers)
            if self._fuses(group, params) and _fused.unfusable_reason(
                    *state_lists, centered=group["centered"], momentum=group["momentum"]) is None:
                _fused.fused_update(*state_lists, **options)
                continue
            rmsprop_update(*state_lists, **options, foreach=self._foreach(group, params))
        return loss
