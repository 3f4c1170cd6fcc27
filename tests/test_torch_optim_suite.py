"""PyTorch's own optimizer checks (``TestOptimRenewed`` of its ``test/test_optim.py``) for RMSprop.

torch's test file is not shipped in the wheel; its inputs are: ``optim_db`` in
``torch.testing._internal.common_optimizers`` holds the RMSprop ``OptimizerInfo`` (the
configurations, the error inputs, the LR schedulers) and
``_get_optim_inputs_including_global_cliquey_kwargs`` adds the ``foreach`` /
``differentiable`` / ``fused`` variants. This module re-states, in our own code, what each
CPU test of ``TestOptimRenewed`` checks, and runs it for three subjects:

- ``torch``: ``torch.optim.RMSprop`` itself, the control (a check it fails would be ours to fix);
- ``ours``: the same ``OptimizerInfo`` with ``optim_cls=rmsprop_lib.RMSprop``;
- ``ours-fused``: that, declaring ``fused`` supported on CPU, so every configuration also runs
  with ``fused=True`` and ``test_fused_matches_forloop`` runs (needs a C compiler).

Not here: tests that need CUDA, several GPUs, MPS or 64 GB (torch skips them on CPU too),
sparse-gradient tests (RMSprop is not in them), the torch.compile variants. Deliberate
differences of ``ours-fused`` from torch's fused optimizers: the kernel takes float32 and
float64 (and complex), not float16/bfloat16, and parameters it cannot take are refused when
the optimizer is constructed (torch's fused Adam refuses them at ``step``).
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import warnings

import pytest
import torch
from torch.nn import Parameter
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

import rmsprop_lib
from helpers import needs_compiler
from rmsprop_lib import fused

DEVICE = "cpu"


@functools.cache
def _common_optimizers():
    """torch's optimizer test inputs, imported when a test first needs them: the module takes
    seconds to import, and every pytest-xdist worker collects this file."""
    from torch.testing._internal import common_optimizers

    return common_optimizers


@functools.cache
def _info(subject: str):
    """The RMSprop ``OptimizerInfo`` of torch's ``optim_db`` for ``subject`` (see above)."""
    torch_info = next(
        info for info in _common_optimizers().optim_db if info.optim_cls is torch.optim.RMSprop
    )
    if subject == "torch":
        return torch_info
    info = copy.copy(torch_info)
    info.optim_cls = rmsprop_lib.RMSprop
    if subject == "ours-fused":
        info.supported_impls = (*torch_info.supported_impls, "fused")
        info.supports_fused_on = ("cpu",)
    return info


@pytest.fixture(
    params=[
        pytest.param("torch", id="torch"),
        pytest.param("ours", id="ours"),
        pytest.param("ours-fused", id="ours-fused", marks=needs_compiler),
    ]
)
def info(request):
    return _info(request.param)


@pytest.fixture(params=[pytest.param("ours-fused", id="ours-fused", marks=needs_compiler)])
def fused_info(request):
    """Only the subject that has a fused implementation (torch's RMSprop has none)."""
    return _info(request.param)


def all_inputs(info, dtype=torch.float32, skip=()):
    """Every configuration with each implementation flag (what torch's tests iterate over)."""
    return _common_optimizers()._get_optim_inputs_including_global_cliquey_kwargs(
        DEVICE, dtype, info, skip=skip
    )


def assert_equal_nested(actual, expected):
    """``assertEqual`` of torch's TestCase for state dicts: tensors close, everything else equal."""
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for key in expected:
            assert_equal_nested(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_equal_nested(a, e)
    else:
        assert actual == expected


def _loss(weight, bias, inpt):
    return (weight.mv(inpt) + bias).pow(2).sum()


def _assert_direction(kwargs, before, after):
    if kwargs.get("maximize", False):
        assert after > before
    else:
        assert after < before


# --- errors -----------------------------------------------------------------------------------


def test_errors(info):
    for error_input in info.optim_error_inputs_func(device=DEVICE, dtype=torch.float32):
        optim_input = error_input.optimizer_error_input
        params, kwargs = optim_input.params, optim_input.kwargs
        if params is None:
            params = [Parameter(torch.randn(1, 1))]
        if error_input.error_on == _common_optimizers().OptimizerErrorEnum.CONSTRUCTION_ERROR:
            act = functools.partial(info.optim_cls, params, **kwargs)
        else:
            act = info.optim_cls(params, **kwargs).step
        if issubclass(error_input.error_type, Warning):
            with pytest.warns(error_input.error_type, match=error_input.error_regex):
                act()
        else:
            with pytest.raises(error_input.error_type, match=error_input.error_regex):
                act()


# --- the loop goes the right way, with and without schedulers ----------------------------------


@pytest.mark.parametrize("with_lrsched", [False, True])
@pytest.mark.parametrize("contiguous", [True, False])
def test_forloop_goes_right_direction(info, contiguous, with_lrsched):
    for schedulers_c in info.scheduler_inputs if with_lrsched else [[]]:
        for optim_input in info.optim_inputs_func(device=DEVICE):
            kwargs = {**optim_input.kwargs, "foreach": False}
            torch.manual_seed(0)
            if contiguous:
                weight, bias = Parameter(torch.randn(10, 5)), Parameter(torch.randn(10))
            else:
                weight = Parameter(torch.randn(10, 5, 2)[..., 0])
                bias = Parameter(torch.randn(10, 2)[..., 0])
            inpt = torch.randn(5)
            optimizer = info.optim_cls([weight, bias], **kwargs)
            schedulers = [s(optimizer) for s in schedulers_c]

            def closure():
                optimizer.zero_grad()
                loss = _loss(weight, bias, inpt)
                loss.backward()
                return loss

            initial = closure().item()
            for _ in range(20):
                loss = closure()
                optimizer.step()
                for scheduler in schedulers:
                    scheduler.step(loss.item()) if isinstance(
                        scheduler, ReduceLROnPlateau
                    ) else scheduler.step()
            _assert_direction(kwargs, initial, closure().item())


def test_param_group_with_lrscheduler_goes_right_direction(info):
    for schedulers_c in info.scheduler_inputs:
        torch.manual_seed(0)
        weight, weight2 = Parameter(torch.randn(10, 5)), Parameter(torch.randn(10, 5))
        inpt = torch.randn(5)
        optimizer = info.optim_cls([{"params": [weight]}, {"params": [weight2], "lr": 0.01}])
        schedulers = [s(optimizer) for s in schedulers_c]

        def closure():
            optimizer.zero_grad()
            loss = (weight.mv(inpt) + weight2.mv(inpt)).pow(2).sum()
            loss.backward()
            return loss

        initial = closure().item()
        for _ in range(20):
            loss = optimizer.step(closure)
            for scheduler in schedulers:
                scheduler.step(loss.item()) if isinstance(
                    scheduler, ReduceLROnPlateau
                ) else scheduler.step()
        assert closure().item() < initial


@pytest.mark.parametrize("num_dim", [0, 1, 2])
def test_tensor_lr(info, num_dim):
    for optim_input in all_inputs(info, skip=("differentiable",)):
        torch.manual_seed(0)
        weight, bias = Parameter(torch.randn(10, 5)), Parameter(torch.randn(10))
        weight_c = weight.detach().clone().requires_grad_()
        bias_c = bias.detach().clone().requires_grad_()
        inpt = torch.randn(5)
        kwargs = {**optim_input.kwargs, "lr": 1e-3}
        optimizer_r = info.optim_cls([weight, bias], **kwargs)
        kwargs["lr"] = torch.tensor(1e-3).reshape([1] * num_dim)
        optimizer = info.optim_cls([weight_c, bias_c], **kwargs)
        for _ in range(5):
            for opt, w, b in ((optimizer_r, weight, bias), (optimizer, weight_c, bias_c)):
                opt.zero_grad()
                _loss(w, b, inpt).backward()
                opt.step()
            torch.testing.assert_close(weight, weight_c)
            torch.testing.assert_close(bias, bias_c)


# --- complex parameters -----------------------------------------------------------------------


def test_complex(info):
    for optim_input in all_inputs(info, torch.complex64, skip=("differentiable", "fused")):
        torch.manual_seed(0)
        complex_params = [
            torch.randn(10, 5, dtype=torch.complex64, requires_grad=True),
            torch.randn(10, dtype=torch.complex64, requires_grad=True),
            torch.randn(10, 5, dtype=torch.float32, requires_grad=True),
        ]
        real_params = [
            (torch.view_as_real(p) if p.is_complex() else p).detach().clone().requires_grad_()
            for p in complex_params
        ]
        complex_opt = info.optim_cls(complex_params, **optim_input.kwargs)
        real_opt = info.optim_cls(real_params, **optim_input.kwargs)
        for _ in range(3):
            for p, r in zip(complex_params, real_params, strict=True):
                r.grad = torch.randn_like(r)
                p.grad = torch.view_as_complex(r.grad) if p.is_complex() else r.grad.clone()
            real_opt.step()
            complex_opt.step()
            for p, r in zip(complex_params, real_params, strict=True):
                torch.testing.assert_close(torch.view_as_real(p) if p.is_complex() else p, r)


def rosenbrock(tensor):
    x, y = tensor
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def test_complex_2d(info):
    for optim_input in all_inputs(info, torch.complex64, skip=("differentiable", "fused")):
        torch.manual_seed(0)
        a1 = torch.randn(2, dtype=torch.complex64, requires_grad=True)
        a1_real = a1.real.detach().clone().requires_grad_()
        a1_imag = a1.imag.detach().clone().requires_grad_()
        optim1 = info.optim_cls([a1], **optim_input.kwargs)
        optim2 = info.optim_cls([a1_real, a1_imag], **optim_input.kwargs)
        for _ in range(3):
            optim1.zero_grad()
            optim2.zero_grad()
            rosenbrock(a1).abs().backward()
            rosenbrock(torch.complex(a1_real, a1_imag)).abs().backward()
            assert a1.grad is not None
            torch.testing.assert_close(a1.grad.real, a1_real.grad)
            torch.testing.assert_close(a1.grad.imag, a1_imag.grad)
            optim1.step()
            optim2.step()
            torch.testing.assert_close(a1.real, a1_real)
            torch.testing.assert_close(a1.imag, a1_imag)


# --- the derived implementations equal the loop -----------------------------------------------


def _compare_implementations(info, dtype, flag):
    """Two runs of a small model differing only in ``flag``: params and state every step."""
    for optim_input in info.optim_inputs_func(device=DEVICE, dtype=dtype):
        models, optimizers = [], []
        for value in (False, True):
            torch.manual_seed(1)
            model = torch.nn.Sequential(
                torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1), torch.nn.Sigmoid()
            ).to(dtype)
            empty = torch.empty((), dtype=dtype, requires_grad=True)  # a zero-size-like last param
            empty.grad = torch.rand_like(empty)
            optimizers.append(
                info.optim_cls([*model.parameters(), empty], **{**optim_input.kwargs, flag: value})
            )
            models.append(model)
        inpt = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], dtype=dtype).reshape(3, 2)
        for i in range(7):
            for model, optimizer in zip(models, optimizers, strict=True):
                optimizer.zero_grad()
                if i == 3:
                    model[2].requires_grad_(False)  # a frozen layer for two steps
                if i == 5:
                    model[2].requires_grad_(True)
                if i != 2:  # a step where every gradient is None
                    model(inpt).sum().backward()
                optimizer.step()
            for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
                torch.testing.assert_close(p, q)
                s, t = optimizers[0].state[p], optimizers[1].state[q]
                assert s.keys() == t.keys()
                for key in s:
                    torch.testing.assert_close(s[key], t[key])


def test_foreach_matches_forloop(info):
    _compare_implementations(info, torch.float64, "foreach")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_matches_forloop(fused_info, dtype):
    _compare_implementations(fused_info, dtype, "fused")


def test_fused_refuses_params_on_meta_when_constructed(fused_info):
    with torch.device("meta"):
        model = torch.nn.Linear(2, 3)
    with pytest.raises(fused.FusedUnavailableError, match="meta"):
        fused_info.optim_cls(model.parameters(), fused=True)


# --- parameter groups -------------------------------------------------------------------------


def test_param_groups_weight_decay(info):
    for optim_input in all_inputs(info, skip=("differentiable",)):
        torch.manual_seed(0)
        weight, bias = Parameter(torch.randn(10, 5)), Parameter(torch.randn(10))
        inpt = torch.randn(5)
        optimizer = info.optim_cls(
            [
                dict(params=[weight], **optim_input.kwargs),
                dict(params=[bias], **{**optim_input.kwargs, "weight_decay": 0.0}),
            ]
        )
        initial = _loss(weight, bias, inpt).item()
        for _ in range(20):
            optimizer.zero_grad()
            loss = _loss(weight, bias, inpt)
            loss.backward()
            optimizer.step()
        _assert_direction(optim_input.kwargs, initial, loss.item())


def test_param_groups_lr(info):
    for optim_input in all_inputs(info, skip=("differentiable",)):
        kwargs = dict(optim_input.kwargs)
        if kwargs.get("lr", 0) == 0:
            kwargs["lr"] = 1e-3
        torch.manual_seed(0)
        weight, bias = Parameter(torch.randn(10, 5)), Parameter(torch.randn(10))
        irrelevant = Parameter(torch.randn(2))
        irrelevant_clone = irrelevant.detach().clone()
        inpt = torch.randn(5)
        optimizer = info.optim_cls(
            [dict(params=[weight, bias], **kwargs), dict(params=[irrelevant])], lr=1e-28
        )
        initial = _loss(weight, bias, inpt).item()
        for _ in range(20):
            optimizer.zero_grad()
            loss = _loss(weight, bias, inpt)
            loss.backward()
            irrelevant.grad = torch.rand_like(irrelevant)
            optimizer.step()
        _assert_direction(kwargs, initial, loss.item())
        torch.testing.assert_close(irrelevant.detach(), irrelevant_clone)


# --- steps that do nothing --------------------------------------------------------------------


def test_step_is_noop_when_params_have_no_grad(info):
    params = [torch.randn(2, 3) for _ in range(2)]
    old = [p.clone() for p in params]
    for optim_input in all_inputs(info):
        info.optim_cls(params, **optim_input.kwargs).step(lambda: torch.tensor([1.0]))
        for p, q in zip(params, old, strict=True):
            assert torch.equal(p, q)


def test_step_is_noop_for_zero_grads(info):
    param = torch.randn(5, 1, requires_grad=True)
    old = param.detach().clone()
    for optim_input in all_inputs(info):
        kwargs = optim_input.kwargs
        if kwargs.get("weight_decay", 0) != 0:
            continue  # weight decay moves parameters without gradients
        params = [param.clone()] if kwargs.get("differentiable", False) else [param]
        optimizer = info.optim_cls(params, **kwargs)
        params[0].grad = torch.zeros_like(params[0])
        optimizer.step(lambda: torch.tensor([1.0]))
        torch.testing.assert_close(params[0].detach(), old)


def test_optimizer_can_be_printed(info):
    params = [Parameter(torch.randn(2, 3)) for _ in range(2)]
    for optim_input in all_inputs(info):
        assert type(info.optim_cls(params, **optim_input.kwargs)).__name__ in repr(
            info.optim_cls(params, **optim_input.kwargs)
        )


# --- state dicts ------------------------------------------------------------------------------


def _named(params, named):
    return [(f"name{i}", p) for i, p in enumerate(params)] if named else params


def _without_names(state_dict):
    state_dict = copy.deepcopy(state_dict)
    for group in state_dict["param_groups"]:
        group.pop("param_names", None)
    return state_dict


@pytest.mark.parametrize("named0, named1", list(itertools.product([False, True], repeat=2)))
def test_state_dict_deterministic(info, named0, named1):
    torch.manual_seed(0)
    weight, bias = Parameter(torch.randn(2, 3)), Parameter(torch.randn(2))
    inpt = torch.randn(3, requires_grad=True)

    def fwd_bwd(optimizer, w, b):
        optimizer.zero_grad()
        loss = _loss(w, b, inpt)
        loss.backward()
        return loss

    for optim_input in all_inputs(info, skip=("differentiable",)):
        optimizer = info.optim_cls(_named([weight, bias], named0), **optim_input.kwargs)
        for _ in range(10):
            fwd_bwd(optimizer, weight, bias)
            optimizer.step()
        with torch.no_grad():
            weight_c, bias_c = Parameter(weight.clone()), Parameter(bias.clone())
        optimizer_c = info.optim_cls(_named([weight_c, bias_c], named1), **optim_input.kwargs)
        optimizer_c.load_state_dict(copy.deepcopy(optimizer.state_dict()))
        for _ in range(10):
            fwd_bwd(optimizer, weight, bias)
            fwd_bwd(optimizer_c, weight_c, bias_c)
            optimizer.step()
            optimizer_c.step()
            torch.testing.assert_close(weight, weight_c)
            torch.testing.assert_close(bias, bias_c)
        assert_equal_nested(
            _without_names(optimizer_c.state_dict()), _without_names(optimizer.state_dict())
        )
        optimizer_c.param_groups.extend(optimizer_c.param_groups)
        assert_equal_nested(
            _without_names(optimizer_c.state_dict())["param_groups"][-1],
            _without_names(optimizer.state_dict())["param_groups"][-1],
        )


def _conv_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(4, 2, 1, stride=2), torch.nn.BatchNorm2d(2))


def _fwd_bwd(optimizer, model, inpt):
    optimizer.zero_grad()
    model(inpt).sum().backward()


def test_can_load_older_state_dict(info):
    for optim_input in all_inputs(info, skip=("differentiable",)):
        model = _conv_model()
        inpt = torch.rand(1, 4, 16, 16)
        optimizer = info.optim_cls(model.parameters(), **optim_input.kwargs)
        for _ in range(3):
            _fwd_bwd(optimizer, model, inpt)
            optimizer.step()
        old = copy.deepcopy(optimizer.state_dict())
        for group in old["param_groups"]:
            for flag in info.not_og_supported_flags:
                group.pop(flag, None)
        optimizer.load_state_dict(old)
        _fwd_bwd(optimizer, model, inpt)
        optimizer.step()


@pytest.mark.parametrize("named0, named1", list(itertools.product([False, True], repeat=2)))
def test_can_load_from_to_named_state_dict(info, named0, named1):
    for optim_input in all_inputs(info, skip=("differentiable",)):
        model = _conv_model()
        inpt = torch.rand(1, 4, 16, 16)
        params = model.named_parameters() if named0 else model.parameters()
        optimizer = info.optim_cls(params, **optim_input.kwargs)
        for _ in range(3):
            _fwd_bwd(optimizer, model, inpt)
            optimizer.step()
        state_dict = copy.deepcopy(optimizer.state_dict())
        params2 = model.named_parameters() if named1 else model.parameters()
        optimizer2 = info.optim_cls(params2, **optim_input.kwargs)
        optimizer2.load_state_dict(state_dict)
        _fwd_bwd(optimizer2, model, inpt)
        optimizer2.step()
        if named0 or named1:
            assert optimizer2.state_dict()["param_groups"][0]["param_names"] == [
                "0.weight",
                "0.bias",
                "1.weight",
                "1.bias",
            ]


@pytest.mark.parametrize("named", [False, True])
def test_save_load_equality_with_weights_only(info, named):
    torch.manual_seed(0)
    weight, bias = Parameter(torch.randn(2, 3)), Parameter(torch.randn(2))
    inpt = torch.randn(3)
    for optim_input in all_inputs(info, skip=("differentiable",)):
        optimizer = info.optim_cls(_named([weight, bias], named), **optim_input.kwargs)
        for _ in range(3):
            optimizer.zero_grad()
            _loss(weight, bias, inpt).backward()
            optimizer.step()
        state_dict = optimizer.state_dict()
        for weights_only in (False, True):
            buffer = io.BytesIO()
            torch.save(state_dict, buffer)
            buffer.seek(0)
            assert_equal_nested(torch.load(buffer, weights_only=weights_only), state_dict)


def test_load_nontensor_step(info):
    params = [Parameter(torch.randn(2, 3)) for _ in range(2)]
    for p in params:
        p.grad = torch.rand_like(p)
    for optim_input in all_inputs(info, skip=("differentiable",)):
        optimizer = info.optim_cls(params, **optim_input.kwargs)
        for _ in range(3):
            optimizer.step()
        state_dict = copy.deepcopy(optimizer.state_dict())
        for p_state in state_dict["state"].values():
            p_state["step"] = p_state["step"].item()
        optimizer.load_state_dict(state_dict)
        optimizer.step()


def test_deepcopy_copies_all_public_attrs(info):
    params = [Parameter(torch.randn(2, 3)) for _ in range(2)]
    for p in params:
        p.grad = torch.rand_like(p)

    def public(obj):
        return {k for k in obj.__dict__ if not k.startswith("_")}

    for optim_input in all_inputs(info, skip=("differentiable",)):
        optimizer = info.optim_cls(params, **optim_input.kwargs)
        for _ in range(3):
            optimizer.step()
        assert public(optimizer) == public(copy.deepcopy(optimizer))


# --- hooks ------------------------------------------------------------------------------------


def test_state_dict_and_load_state_dict_hooks(info):
    for optim_input in all_inputs(info):
        param = torch.rand(2, 3, requires_grad=True)
        optimizer = info.optim_cls([param], **optim_input.kwargs)
        optimizer.register_state_dict_pre_hook(lambda opt: opt.state.__setitem__("test", 1))

        def post(opt, state_dict):
            state_dict["ran_pre"] = state_dict["state"].pop("test", None) == 1
            return state_dict

        optimizer.register_state_dict_post_hook(post)
        state_dict = optimizer.state_dict()
        assert state_dict["ran_pre"] is True and "test" not in state_dict["state"]

        def set_lr(value):
            def hook(opt, sd):
                sd = copy.deepcopy(sd)
                sd["param_groups"][0]["lr"] = value
                return sd

            return hook

        optimizer.register_load_state_dict_pre_hook(set_lr(0.002))
        optimizer.register_load_state_dict_pre_hook(set_lr(0.003), prepend=True)
        ran = []
        optimizer.register_load_state_dict_post_hook(
            lambda opt: ran.append(opt.param_groups[0]["lr"])
        )
        optimizer.load_state_dict(state_dict)
        assert optimizer.param_groups[0]["lr"] == 0.002 and ran == [0.002]


def test_step_hooks_run_in_order_and_can_be_removed(info):
    params = [torch.tensor([1.0, 1.0])]
    for optim_input in all_inputs(info):
        optimizer = info.optim_cls(params, **optim_input.kwargs)
        other = torch.optim.SGD(params)
        calls = []
        handles = [
            register_optimizer_step_pre_hook(lambda *a: calls.append(0)),
            register_optimizer_step_post_hook(lambda *a: calls.append(5)),
            optimizer.register_step_pre_hook(lambda *a: calls.append(1)),
            optimizer.register_step_post_hook(lambda *a: calls.append(2)),
            other.register_step_pre_hook(lambda *a: calls.append(1)),
            other.register_step_post_hook(lambda *a: calls.append(2)),
        ]
        try:
            optimizer.step()
            other.step()
            optimizer.step()
        finally:
            for handle in handles:
                handle.remove()
        optimizer.step()
        other.step()
        assert calls == [0, 1, 2, 5] * 3


def test_no_warning_on_a_normal_step(info):
    param = torch.randn(3, requires_grad=True)
    param.grad = torch.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info.optim_cls([param]).step()
