"""``RMSprop``: a drop-in for ``torch.optim.RMSprop`` that can also use the chapter's ε."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter, is_
from typing import Any, Literal, TypeVar

import torch
from torch import Tensor

# Private torch.optim helpers, used so that option handling is torch's own:
# ``_default_to_fused_or_foreach`` is how torch picks foreach for ``foreach=None``;
# ``_get_scalar_dtype`` is the dtype of the ``step`` counter; ``_use_grad_for_differentiable``
# runs ``step`` with autograd on exactly when ``differentiable=True``;
# ``_get_capturable_supported_devices`` lists the devices where ``capturable=True`` can run.
from torch.optim.optimizer import (
    Optimizer,
    ParamsT,
    _default_to_fused_or_foreach,
    _get_capturable_supported_devices,
    _get_scalar_dtype,
    _use_grad_for_differentiable,
)

from . import fused as _fused
from ._group import GroupRecord, Unfusable
from .functional import Hyperparams, count_steps, update

__all__ = ["RMSprop"]

Implementation = Literal["foreach", "loop"]
Loss = TypeVar("Loss")  # what the closure returns, e.g. a loss tensor
_is_sparse, _grad = attrgetter("is_sparse"), attrgetter("grad")
# The state keys a parameter needs, by (momentum > 0, centered).
_NEEDED = {
    (momentum, centered): frozenset(
        ("square_avg", "step") + ("momentum_buffer",) * momentum + ("grad_avg",) * centered
    )
    for momentum in (False, True)
    for centered in (False, True)
}


class RMSprop(Optimizer):
    r"""RMSProp, a drop-in for ``torch.optim.RMSprop``: same signature, defaults, update, state.

    With learning rate :math:`\eta` (``lr``), smoothing constant :math:`\alpha` (``alpha``, the
    chapter's :math:`\gamma`), weight decay :math:`\lambda`, momentum :math:`\mu` and
    :math:`\epsilon` (``eps``), one step on a parameter :math:`\theta` with gradient :math:`g` is

    .. math::

        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha)\, g_t \odot g_t \\
        d_t &= \sqrt{v_t} + \epsilon \\
        \theta_t &= \theta_{t-1} - \eta\, g_t / d_t

    where :math:`v_0 = 0` and the sign of the gradient is minus when ``maximize``. The options
    change it so:

    - ``eps_in_sqrt=True``: :math:`d_t = \sqrt{v_t + \epsilon}`, the book's chapter's formula;
    - ``centered=True``: :math:`m_t = \alpha m_{t-1} + (1 - \alpha)\, g_t` from
      :math:`m_0 = 0`, and :math:`v_t - m_t \odot m_t` takes the place of :math:`v_t` in
      :math:`d_t`;
    - ``momentum`` :math:`\mu > 0`: :math:`b_t = \mu b_{t-1} + g_t / d_t` from :math:`b_0 = 0`,
      and :math:`\theta_t = \theta_{t-1} - \eta\, b_t`.

    By default (``foreach=None``, ``fused=None``) it runs exactly what ``torch.optim.RMSprop``
    runs: on CPU the per-tensor loop, operation for operation, so the parameters and every
    state tensor are bit-identical to torch's after every step. Nothing is compiled unless
    ``fused=True`` is asked for.

    .. warning::
        **Where ε goes.** PyTorch adds ε *after* the square root, :math:`\sqrt{v_t} + \epsilon`;
        the book's chapter (like TensorFlow, Keras and optax by default) adds it *inside*,
        :math:`\sqrt{v_t + \epsilon}`. The default here is PyTorch's, so this class is a drop-in
        replacement; ``eps_in_sqrt=True`` gives the chapter's formula. The two differ most while
        :math:`v_t` is small compared with ε.

    **Asking for speed.** ``foreach=True`` runs torch's multi-tensor kernels (the same numbers
    as the loop); ``fused=True`` runs the whole update as one pass over memory with a small C
    kernel (CPU; float32, float64 and complex), equal to the loop to rounding, compiled when
    the package was installed. ``fused=True`` loads the kernel in the constructor and raises
    :class:`~rmsprop_lib.fused.FusedUnavailableError` saying why when it cannot: the package
    was installed without a C compiler, a parameter is on another device, of another dtype,
    or a tensor subclass such as a DTensor. A group whose tensors cannot go to the kernel at a step
    (for example a gradient laid out differently from its parameter) is updated whole by the
    multi-tensor path instead.

    Args:
        params: iterable of parameters (or named parameters) or of parameter-group dicts.
        lr: learning rate :math:`\eta` (default 1e-2), at least 0 and finite; a float or a
            1-element tensor.
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
        capturable: as in torch, for CUDA-graph capture (default False). On a device that
            cannot capture (the CPU among them) ``step`` raises torch's ``AssertionError``.
        foreach: use the multi-tensor implementation (default None: torch's choice, the
            loop on CPU and the multi-tensor kernels on CUDA-like devices).
        maximize: maximize the objective instead of minimizing it (default False).
        differentiable: let autograd flow through the step (default False), as in torch;
            runs the loop.
        fused: keyword only. ``True`` runs the fused C kernel (see above); ``None`` (the
            default) and ``False`` never fuse, as in torch.
        eps_in_sqrt: keyword only. Put ε inside the square root, as the chapter does
            (default False).

    State per parameter (created at its first step with a gradient, as in torch, so
    ``state_dict`` files load into either class): ``step`` (0-dim tensor), ``square_avg``
    (:math:`v`), ``momentum_buffer`` (:math:`b`, when momentum > 0) and ``grad_avg``
    (:math:`m`, when centered). ``load_state_dict`` accepts everything torch's accepts
    (a numeric ``step``, groups lacking newer keys); a state tensor whose shape, dtype or
    layout does not fit its parameter is refused with a ``ValueError`` naming the group,
    the parameter and the key, and the optimizer keeps its previous state.

    References:
        Tieleman, T. & Hinton, G. (2012). Lecture 6.5, "rmsprop: Divide the gradient by a
        running average of its recent magnitude". Coursera: Neural Networks for Machine
        Learning.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        *,
        fused: bool | None = None,
        eps_in_sqrt: bool = False,
    ) -> None:
        # These six checks and their messages are torch's, in torch's order.
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
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
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
            "eps_in_sqrt": eps_in_sqrt,
        }
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; with ``fused=True`` its parameters are checked and the kernel loaded.

        On any error the group is not added.
        """
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if not group["fused"]:
            return
        try:
            # torch's fused optimizers (Adam) raise these two, with these messages.
            if group["differentiable"]:
                raise RuntimeError("`fused` does not support `differentiable`")
            if group["foreach"]:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
            _fused.check_fusable(group["params"], where=f" of group {len(self.param_groups) - 1}")
            _fused.load_kernel()  # a missing or stale kernel is reported here
        except Exception:
            self.param_groups.pop()  # leave no half-added group behind
            raise

    def __setstate__(self, state: dict[str, Any]) -> None:
        # What torch.optim.RMSprop.__setstate__ does (defaults for keys that older state
        # dicts lack, a numeric ``step`` made a tensor), plus our two keys.
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            group.setdefault("fused", None)
            group.setdefault("eps_in_sqrt", False)
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if "step" in p_state and not torch.is_tensor(p_state["step"]):
                    p_state["step"] = torch.tensor(
                        float(p_state["step"]),
                        dtype=_get_scalar_dtype(is_fused=group["fused"]),
                        device=p.device if group["capturable"] else None,
                    )

    def _fused_record(self, group: dict[str, Any]) -> GroupRecord:
        """What the fused path's check found about this group at its last step (kept out of
        ``state_dict`` and pickles: an attribute that ``Optimizer.__getstate__`` leaves out)."""
        records = self.__dict__.setdefault("_fused_records", {})
        entry = records.get(id(group))
        if entry is None or entry[0] is not group:
            entry = records[id(group)] = (group, GroupRecord())
        return entry[1]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict (ours or ``torch.optim.RMSprop``'s), refusing one that does not fit.

        Raises:
            ValueError: a state tensor's shape, dtype or layout does not fit its parameter
                (a checkpoint of another model); the message names the group, the
                parameter and the key. The optimizer's state is then left as it was.
        """
        previous_state, previous_groups = self.state, self.param_groups
        self.__dict__.pop("_fused_records", None)  # new groups, new state: check anew
        super().load_state_dict(state_dict)
        try:
            for g, group in enumerate(self.param_groups):
                for i, p in enumerate(group["params"]):
                    _check_state(self.state.get(p, {}), p, f"parameter {i} of group {g}")
        except ValueError:
            self.state, self.param_groups = previous_state, previous_groups
            raise

    def _init_group(
        self,
        group: dict[str, Any],
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
        """The parameters that have a gradient, with their state (created on first use).

        Built a list at a time: with thousands of small parameters, this is a good part of
        what a fused step costs in Python.
        """
        params = group["params"]
        grads = list(map(_grad, params))
        if any(map(is_, grads, repeat(None))):  # only the parameters that have a gradient
            params = [p for p, grad in zip(params, grads) if grad is not None]
            grads = [grad for grad in grads if grad is not None]
        else:
            params = list(params)
        if any(map(_is_sparse, grads)):  # before any state is created
            raise RuntimeError("RMSprop does not support sparse gradients")
        states = list(map(self.state.__getitem__, params))  # created empty on first use
        momentum, centered = group["momentum"] > 0, group["centered"]
        needed = _NEEDED[momentum, centered]
        if not all(map(needed.issubset, states)):
            for p, state in zip(params, states):
                if not needed.issubset(state):
                    self._init_state(group, p, state)
        square_avgs = [state["square_avg"] for state in states]
        steps = [state["step"] for state in states]
        buffers = [state["momentum_buffer"] for state in states] if momentum else []
        grad_avgs = [state["grad_avg"] for state in states] if centered else []
        return params, grads, square_avgs, grad_avgs, buffers, steps

    @staticmethod
    def _init_state(group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        """Create what ``state`` lacks: all of it at the first step, as torch does."""
        if "square_avg" not in state:
            state["step"] = torch.zeros(
                (),
                dtype=_get_scalar_dtype(is_fused=group["fused"]),
                device=p.device if group["capturable"] else None,
            )
            # zeros_like: a sharded parameter (DTensor) gets sharded state.
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        elif "step" not in state:  # a loaded state without its counter restarts it
            state["step"] = torch.zeros((), dtype=_get_scalar_dtype(is_fused=group["fused"]))
        # A loaded state may lack a buffer this group now needs (momentum or centered
        # switched on): it starts from zero, as it would have at the first step.
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    # Optimizer.step is overloaded on the closure (None -> None); one signature covers both,
    # and returns what the closure returns (a loss tensor, usually).
    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Loss] | None = None) -> Loss | None:  # type: ignore[override]
        """Perform one optimization step; ``closure`` re-evaluates the model, returns the loss."""
        self._accelerator_graph_capture_health_check()
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, square_avgs, grad_avgs, buffers, steps = self._init_group(group)
            if not params:
                continue
            if group["capturable"] and not torch.compiler.is_compiling():
                _check_capturable(params, steps)
            tensors = (params, grads, square_avgs, grad_avgs, buffers)
            hyper = Hyperparams.of_group(group)
            # fused=True: the kernel takes the whole group and counts its steps, or (raising
            # Unfusable, having written nothing) leaves it whole to the multi-tensor update.
            if group["fused"]:
                try:
                    _fused.step_group(tensors, hyper, steps, self._fused_record(group))
                    continue
                except Unfusable:
                    pass
            foreach = _implementation(group, params) == "foreach"
            update(tensors, hyper, foreach=foreach, differentiable=group["differentiable"])
            count_steps(steps, foreach)  # after the update: a step that raised is not counted
        return loss


def _implementation(group: dict[str, Any], params: list[Tensor]) -> Implementation:
    """How this step updates the group: the one place where the implementation is chosen.

    ========  ==========  =================================================  ==========
    fused     foreach     the group's tensors                                runs
    ========  ==========  =================================================  ==========
    True      not True    the kernel takes them (:func:`fused.unfusable_reason`)  fused
    True      not True    they cannot go to the kernel (layouts, dtypes...)  foreach
    not True  True        any (torch raises if ``differentiable``)           foreach
    not True  False       any                                                loop
    not True  None        plain tensors on a CUDA-like device, and not       foreach
                          ``differentiable`` (torch's
                          ``_default_to_fused_or_foreach``)
    not True  None        otherwise: CPU, ``differentiable``, tensor         loop
                          subclasses such as DTensor
    ========  ==========  =================================================  ==========

    ``fused=True`` together with ``foreach=True`` or ``differentiable=True``, or with
    parameters that can never be fused, is refused when the group is added. The first two
    rows are decided by :func:`fused.step_group`, which checks the group and runs the kernel
    in one pass (so the checks are paid once per step); this function answers for the group
    the kernel did not take: the whole group, never part of it.
    """
    if group["fused"]:
        return "foreach"
    foreach = group["foreach"]
    if foreach is None:
        _, foreach = _default_to_fused_or_foreach(params, group["differentiable"], use_fused=False)
    return "foreach" if foreach else "loop"


def _check_capturable(params: list[Tensor], steps: list[Tensor]) -> None:
    """torch's check (and message) for ``capturable=True``: only capturable devices."""
    supported = _get_capturable_supported_devices()
    if not all(
        p.device.type == s.device.type and p.device.type in supported
        for p, s in zip(params, steps, strict=True)
    ):
        raise AssertionError(
            f"If capturable=True, params and state_steps must be on supported devices: {supported}."
        )


def _check_state(state: dict[str, Any], param: Tensor, where: str) -> None:
    """Refuse a loaded state that does not fit its parameter, naming ``where`` and the key.

    ``Optimizer.load_state_dict`` has already moved every tensor to the parameter's device
    and cast floating-point ones to its dtype; shapes, layouts and the dtype of the state
    of a complex parameter are what remain to check.
    """
    for key in ("square_avg", "momentum_buffer", "grad_avg"):
        if key not in state:
            continue
        value = state[key]
        problem = None
        if not isinstance(value, Tensor):
            problem = f"is a {type(value).__name__}, not a tensor"
        elif value.shape != param.shape:
            problem = (
                f"has shape {list(value.shape)} but the parameter has shape {list(param.shape)}"
            )
        elif value.dtype != param.dtype:
            problem = f"has dtype {value.dtype} but the parameter has dtype {param.dtype}"
        elif value.layout != param.layout:
            problem = f"has layout {value.layout} but the parameter has layout {param.layout}"
        elif value.device != param.device:
            problem = f"is on {value.device} but the parameter is on {param.device}"
        if problem is not None:
            raise ValueError(
                f"RMSprop.load_state_dict: the state of {where}: {key!r} {problem} "
                "(is this checkpoint from another model?)"
            )
    step = state.get("step")
    if step is not None and (not isinstance(step, Tensor) or step.numel() != 1):
        raise ValueError(
            f"RMSprop.load_state_dict: the state of {where}: 'step' must be a number or a "
            f"1-element tensor, got {step!r}"
        )
