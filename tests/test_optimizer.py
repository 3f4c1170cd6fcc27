"""rmsprop_lib.RMSprop (optimizer.py) against torch.optim.RMSprop 2.13: signature, options, state"""

import copy
import inspect
import io
import math

import pytest
import torch

from helpers import (  # noqa: F401  (CONFIGS... are also imported from here by test_fused)
    CONFIGS,
    IDS,
    TOL,
    assert_close_states,
    assert_identical,
    clone_params,
    make_params,
    needs_compiler,
    set_grads,
    step_side_by_side,
)
from rmsprop_lib import RMSprop, fused, optimizer

LR_SHAPES = [[], [1], [1, 1]]


# --- signature and options ------------------------------------------------------------------


def test_signature_is_torchs_then_our_keyword_only_options():
    ours = list(inspect.signature(RMSprop).parameters.values())
    theirs = list(inspect.signature(torch.optim.RMSprop).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[: len(theirs)]] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    assert [(p.name, p.kind, p.default) for p in ours[len(theirs) :]] == [
        ("fused", inspect.Parameter.KEYWORD_ONLY, None),
        ("eps_in_sqrt", inspect.Parameter.KEYWORD_ONLY, False),
    ]


def test_positional_arguments_mean_what_they_mean_in_torch():
    args = (0.01, 0.9, 1e-6, 0.1, 0.2, True, True, False, True, False)
    ours = RMSprop([torch.zeros(1, requires_grad=True)], *args).param_groups[0]
    theirs = torch.optim.RMSprop([torch.zeros(1, requires_grad=True)], *args).param_groups[0]
    for key in theirs:
        if key != "params":
            assert ours[key] == theirs[key], key
    assert ours["fused"] is None and ours["eps_in_sqrt"] is False


# --- parity with torch, bit for bit -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize("foreach", [None, False, True], ids=["default", "loop", "foreach"])
def test_equals_torch_bit_for_bit_every_step(config, dtype, foreach):
    start = make_params(dtype)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt = RMSprop(ours, foreach=foreach, **config)
    theirs_opt = torch.optim.RMSprop(theirs, foreach=foreach, **config)
    step_side_by_side(
        ours_opt,
        ours,
        theirs_opt,
        theirs,
        7,
        after_each=lambda: assert_identical(ours_opt, ours, theirs_opt, theirs),
    )
    assert ours_opt.state[ours[1]]["step"].item() == 5  # no gradient twice: skipped twice


@pytest.mark.parametrize("shape", LR_SHAPES, ids=str)
@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
def test_tensor_lr_equals_torch_bit_for_bit(shape, foreach):
    config = CONFIGS[-1]
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt = RMSprop(ours, lr=torch.full(shape, 0.003), foreach=foreach, **config)
    theirs_opt = torch.optim.RMSprop(theirs, lr=torch.full(shape, 0.003), foreach=foreach, **config)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 4)
    assert_identical(ours_opt, ours, theirs_opt, theirs)


@needs_compiler
@pytest.mark.parametrize("shape", [None, *LR_SHAPES], ids=str)
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_fused_equals_torch_to_rounding(config, shape):
    lr = config.get("lr", 1e-2) if shape is None else torch.full(shape, 0.003, dtype=torch.float64)
    config = {k: v for k, v in config.items() if k != "lr"}
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt = RMSprop(ours, lr=lr, fused=True, **config)
    theirs_opt = torch.optim.RMSprop(theirs, lr=lr, **config)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 5)
    assert_close_states(ours_opt, ours, theirs_opt, theirs, torch.float64)


def test_several_groups_with_different_options_equal_torch():
    start = make_params(torch.float64)

    def groups(params):
        return [
            {"params": params[:1], "centered": True, "momentum": 0.3},
            {
                "params": params[1:2],
                "maximize": True,
                "lr": torch.tensor([0.05], dtype=torch.float64),
            },
            {"params": params[2:], "weight_decay": 0.2, "foreach": True, "alpha": 0.5},
        ]

    ours, theirs = clone_params(start), clone_params(start)
    ours_opt, theirs_opt = (
        RMSprop(groups(ours), lr=0.02),
        torch.optim.RMSprop(groups(theirs), lr=0.02),
    )
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 6)
    assert_identical(ours_opt, ours, theirs_opt, theirs)


def test_mixed_float32_and_float64_in_one_foreach_group_equal_torch():
    start = make_params(torch.float64)[:2] + make_params(torch.float32, seed=3)[2:]
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt = RMSprop(ours, foreach=True, **CONFIGS[-1])
    theirs_opt = torch.optim.RMSprop(theirs, foreach=True, **CONFIGS[-1])
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 5)
    assert_identical(ours_opt, ours, theirs_opt, theirs)


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
def test_complex_parameters_equal_torch_and_their_real_views(foreach):
    g = torch.Generator().manual_seed(5)
    z = torch.randn(4, dtype=torch.complex128, generator=g).requires_grad_()
    t = z.detach().clone().requires_grad_()
    r = torch.view_as_real(z.detach().clone()).requires_grad_()
    config = CONFIGS[-1]
    z_opt, r_opt = RMSprop([z], foreach=foreach, **config), RMSprop([r], foreach=foreach, **config)
    t_opt = torch.optim.RMSprop([t], foreach=foreach, **config)
    for _ in range(4):
        grad = torch.randn(4, dtype=torch.complex128, generator=g)
        z.grad, t.grad, r.grad = grad.clone(), grad.clone(), torch.view_as_real(grad).clone()
        z_opt.step(), r_opt.step(), t_opt.step()
        assert torch.equal(z, t)
        assert torch.equal(torch.view_as_real(z.detach()), r.detach())
    assert_identical(z_opt, [z], t_opt, [t])


@pytest.mark.parametrize(
    "kwargs", [{"eps": 0.0}, {"centered": True, "alpha": 0.9}], ids=["eps0", "centered"]
)
def test_nan_cases_equal_torchs(kwargs):
    # eps=0 with a zero gradient gives 0/0; a constant gradient makes v - m^2 round below 0.
    ours, theirs = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    ours_opt, theirs_opt = RMSprop([ours], **kwargs), torch.optim.RMSprop([theirs], **kwargs)
    for _ in range(400):
        ours.grad, theirs.grad = torch.tensor([3.0, 0.0]), torch.tensor([3.0, 0.0])
        ours_opt.step(), theirs_opt.step()
    assert ours.isnan().any()
    assert_identical(ours_opt, [ours], theirs_opt, [theirs])


def test_centered_negative_variance_is_absorbed_with_eps_in_sqrt():
    # With |g| = 0.03 the rounding error of v - m^2 (~1e-10) is far below eps = 1e-6.
    p = torch.zeros(1, dtype=torch.float32, requires_grad=True)
    opt = RMSprop([p], centered=True, alpha=0.9, eps=1e-6, eps_in_sqrt=True)
    for _ in range(400):
        p.grad = torch.full((1,), 0.03)
        opt.step()
    state = opt.state[p]
    assert (state["square_avg"] - state["grad_avg"] ** 2).item() < 0
    assert math.isfinite(p.item())


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
def test_eps_in_sqrt_is_the_chapter_formula(centered, foreach):
    lr, alpha, eps = 0.05, 0.9, 1e-6
    p = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (param,) = clone_params([p])
    opt = RMSprop(
        [param], lr=lr, alpha=alpha, eps=eps, centered=centered, foreach=foreach, eps_in_sqrt=True
    )
    x, s, m = p.clone(), torch.zeros_like(p), torch.zeros_like(p)
    for step in range(6):
        g = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(step))
        param.grad = g.clone()
        opt.step()
        s = alpha * s + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g
        var = s - m * m if centered else s
        x = x - lr * g / torch.sqrt(var + eps)
        torch.testing.assert_close(param.detach(), x, rtol=1e-14, atol=1e-15)


def test_default_eps_placement_differs_from_eps_in_sqrt():
    a, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    a.grad, b.grad = torch.full((1,), 1e-4), torch.full((1,), 1e-4)
    RMSprop([a], lr=1.0, alpha=0.0, eps=1e-6).step()
    RMSprop([b], lr=1.0, alpha=0.0, eps=1e-6, eps_in_sqrt=True).step()
    torch.testing.assert_close(a.detach(), 1 - torch.tensor([1e-4 / (1e-4 + 1e-6)]))
    torch.testing.assert_close(b.detach(), 1 - torch.tensor([1e-4 / math.sqrt(1e-8 + 1e-6)]))


# --- differentiable and capturable ------------------------------------------------------------


def _differentiable_step(opt_cls, config):
    """One step as a function of (param, grad, square_avg, momentum_buffer, grad_avg)."""

    def step(param, grad, square_avg, buffer, grad_avg):
        p = param.clone()
        p.grad = grad
        opt = opt_cls([p], differentiable=True, **config)
        state = opt.state[p]
        state["step"] = torch.tensor(3.0, dtype=torch.float64)
        state["square_avg"] = square_avg.clone()
        if config.get("momentum", 0) > 0:
            state["momentum_buffer"] = buffer.clone()
        if config.get("centered"):
            state["grad_avg"] = grad_avg.clone()
        opt.step()
        keys = [k for k in ("square_avg", "momentum_buffer", "grad_avg") if k in state]
        return (p, *[state[k] for k in keys])

    return step


def _differentiable_inputs():
    g = torch.Generator().manual_seed(0)
    # square_avg well above grad_avg**2, so that the centered variance stays positive
    offsets = [0.1, 0.1, 2.0, 0.1, 0.1]
    return tuple(
        (torch.rand(4, dtype=torch.float64, generator=g) + o).requires_grad_() for o in offsets
    )


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_differentiable_gradients_pass_gradcheck_and_equal_torchs(config):
    inputs = _differentiable_inputs()
    assert torch.autograd.gradcheck(_differentiable_step(RMSprop, config), inputs)
    ours = torch.autograd.functional.jacobian(_differentiable_step(RMSprop, config), inputs)
    theirs = torch.autograd.functional.jacobian(
        _differentiable_step(torch.optim.RMSprop, config), inputs
    )
    for ours_row, theirs_row in zip(ours, theirs, strict=True):
        for a, b in zip(ours_row, theirs_row, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("centered", [False, True])
def test_differentiable_with_eps_in_sqrt_passes_gradcheck(centered):
    step = _differentiable_step(
        RMSprop, {"centered": centered, "momentum": 0.5, "eps_in_sqrt": True}
    )
    assert torch.autograd.gradcheck(step, _differentiable_inputs())


def _raised(fn):
    try:
        fn()
    except Exception as error:
        return type(error), str(error)
    raise AssertionError("no exception")


def _one_param():
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.ones(2)
    return [p]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capturable": True},
        {"capturable": True, "foreach": True},
        {"capturable": True, "lr": torch.tensor(0.01)},
        {"differentiable": True, "foreach": True},
    ],
    ids=["capturable", "capturable-foreach", "capturable-tensor-lr", "differentiable-foreach"],
)
def test_step_errors_are_torchs(kwargs):
    ours_opt, theirs_opt = (
        RMSprop(_one_param(), **kwargs),
        torch.optim.RMSprop(_one_param(), **kwargs),
    )
    ours, theirs = _raised(ours_opt.step), _raised(theirs_opt.step)
    assert ours == theirs
    assert ours[0] is AssertionError
    # state was created before the error, as in torch, and the step counter not advanced
    (p,), (q,) = ours_opt.param_groups[0]["params"], theirs_opt.param_groups[0]["params"]
    assert ours_opt.state[p].keys() == theirs_opt.state[q].keys()
    assert ours_opt.state[p]["step"].item() == theirs_opt.state[q]["step"].item() == 0


@pytest.mark.parametrize(
    "lr",
    [
        torch.tensor([0.1, 0.2]),
        torch.tensor([[0.1], [0.2]]),
        torch.tensor(-1.0),
        torch.tensor([[-1.0]]),
        torch.tensor(float("nan")),
    ],
    ids=["two", "two-by-one", "negative", "negative-1x1", "nan"],
)
@pytest.mark.parametrize(
    "extra", [{}, {"foreach": True}, {"capturable": True}], ids=["", "foreach", "capturable"]
)
def test_bad_tensor_lr_errors_are_torchs(lr, extra):
    ours = _raised(lambda: RMSprop(_one_param(), lr=lr, **extra))
    theirs = _raised(lambda: torch.optim.RMSprop(_one_param(), lr=lr, **extra))
    assert ours == theirs
    assert ours[0] is ValueError


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"differentiable": True}, "^`fused` does not support `differentiable`$"),
        ({"foreach": True}, "^`fused` and `foreach` cannot be `True` together.$"),
    ],
)
def test_fused_refuses_what_torchs_fused_optimizers_refuse(kwargs, message):
    # torch.optim.Adam raises the same two errors for fused=True, in the constructor.
    with pytest.raises(RuntimeError, match=message):
        RMSprop(_one_param(), fused=True, **kwargs)
    opt = RMSprop(_one_param())
    with pytest.raises(RuntimeError, match=message):
        opt.add_param_group({"params": _one_param(), "fused": True, **kwargs})
    assert len(opt.param_groups) == 1  # no half-added group


def test_fused_refuses_a_parameter_it_cannot_take_and_adds_no_group():
    opt = RMSprop(_one_param())
    with pytest.raises(fused.FusedUnavailableError, match="parameter 1 of group 1"):
        opt.add_param_group(
            {
                "params": [
                    torch.zeros(1, requires_grad=True),
                    torch.zeros(1, dtype=torch.float16, requires_grad=True),
                ],
                "fused": True,
            }
        )
    assert len(opt.param_groups) == 1


# --- which implementation runs ----------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch):
    """Record every call of the two update functions the optimizer can choose."""
    calls = []
    real_update, real_step_group = optimizer.update, fused.step_group

    def update(tensors, hyper, **kwargs):
        calls.append(("foreach" if kwargs["foreach"] else "loop", len(tensors[0])))
        return real_update(tensors, hyper, **kwargs)

    def step_group(tensors, *args):
        real_step_group(tensors, *args)  # raises when the kernel does not take the group
        calls.append(("fused", len(tensors[0])))

    monkeypatch.setattr(optimizer, "update", update)
    monkeypatch.setattr(fused, "step_group", step_group)
    return calls


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "loop"),  # torch's CPU default
        ({"foreach": False}, "loop"),
        ({"foreach": True}, "foreach"),
        ({"fused": False}, "loop"),
        ({"fused": False, "foreach": True}, "foreach"),
        ({"differentiable": True}, "loop"),
        pytest.param({"fused": True}, "fused", marks=needs_compiler),
        pytest.param({"fused": True, "foreach": False}, "fused", marks=needs_compiler),
    ],
)
def test_one_implementation_per_group(recorded, kwargs, expected):
    params = clone_params(make_params(torch.float32))
    if kwargs.get("differentiable"):  # a differentiable step updates non-leaf tensors
        params = [p.clone() for p in params]
    opt = RMSprop(params, **kwargs)
    set_grads(params, 0)
    opt.step()
    assert recorded == [(expected, len(params))]


class _Tagged(torch.Tensor):
    """A tensor subclass, standing in for DTensor and friends."""


def test_a_tensor_subclass_gets_state_of_its_class_and_the_loop_like_torch(recorded):
    param = torch.randn(3).as_subclass(_Tagged).requires_grad_()
    twin = param.detach().clone().requires_grad_()
    opt, reference = (
        RMSprop([param], momentum=0.5, centered=True),
        torch.optim.RMSprop([twin], momentum=0.5, centered=True),
    )
    for step in range(3):
        set_grads([param], step)
        set_grads([twin], step)
        opt.step()
        reference.step()
    assert recorded == [("loop", 1)] * 3
    for key in ("square_avg", "momentum_buffer", "grad_avg"):
        assert type(opt.state[param][key]) is _Tagged  # zeros_like keeps the class (sharding)
    torch.testing.assert_close(param.as_subclass(torch.Tensor), twin, rtol=0, atol=0)


@needs_compiler
def test_fused_hands_a_group_it_cannot_take_whole_to_the_multi_tensor_update(recorded):
    params = clone_params(make_params(torch.float64))
    theirs = clone_params(make_params(torch.float64))
    opt, reference = RMSprop(params, fused=True), torch.optim.RMSprop(theirs, foreach=True)
    set_grads(params, 0)
    set_grads(theirs, 0)
    for ps in (params, theirs):  # a layout the kernel does not take
        grad = ps[0].grad
        assert grad is not None
        ps[0].grad = grad.t().contiguous().t()
    opt.step()
    reference.step()
    assert recorded == [("foreach", len(params))]
    assert_close_states(opt, params, reference, theirs, torch.float64)


def test_nothing_is_compiled_unless_fused_is_asked_for(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the kernel was built or called")

    monkeypatch.setattr(fused, "load_kernel", refuse)
    monkeypatch.setattr(fused, "fused_update", refuse)
    for kwargs in ({}, {"foreach": True}, {"fused": False}, {"fused": None, "foreach": None}):
        params = clone_params(make_params(torch.float32))
        opt = RMSprop(params, **kwargs)
        set_grads(params, 0)
        opt.step()


# --- state and state dicts --------------------------------------------------------------------


def test_state_is_lazy_and_like_torchs():
    ours, theirs = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    idle = torch.zeros(3, requires_grad=True)
    ours_opt = RMSprop([ours, idle], momentum=0.5, centered=True)
    theirs_opt = torch.optim.RMSprop([theirs], momentum=0.5, centered=True)
    assert len(ours_opt.state) == 0
    ours.grad, theirs.grad = torch.ones(2), torch.ones(2)
    ours_opt.step(), theirs_opt.step()
    assert idle not in ours_opt.state
    assert_identical(ours_opt, [ours], theirs_opt, [theirs])


def test_step_counter_dtype_follows_the_default_dtype_like_torch():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ours, theirs = _one_param(), _one_param()
        ours_opt, theirs_opt = RMSprop(ours), torch.optim.RMSprop(theirs)
        ours_opt.step(), theirs_opt.step()
    finally:
        torch.set_default_dtype(previous)
    assert (
        ours_opt.state[ours[0]]["step"].dtype
        == theirs_opt.state[theirs[0]]["step"].dtype
        == torch.float64
    )


def _trained(opt_cls, params, steps, **config):
    opt = opt_cls(params, **config)
    for step in range(steps):
        set_grads(params, step)
        opt.step()
    return opt


def _continue(opt, params, start, steps):
    for step in range(start, start + steps):
        set_grads(params, step)
        opt.step()


@pytest.mark.parametrize("direction", ["ours->torch", "torch->ours"])
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[-1]], ids=["default", "all"])
def test_state_dict_interchange_continues_identically(direction, config):
    first, second = (
        (RMSprop, torch.optim.RMSprop)
        if direction == "ours->torch"
        else (torch.optim.RMSprop, RMSprop)
    )
    start = make_params(torch.float64)
    reference = clone_params(start)
    reference_opt = _trained(first, reference, 6, **config)
    params = clone_params(start)
    opt = _trained(first, params, 3, **config)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    resumed = second(params, **config)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    _continue(resumed, params, 3, 3)
    assert_identical(resumed, params, reference_opt, reference)


PATHS = [
    pytest.param({"foreach": False}, id="loop"),
    pytest.param({"foreach": True}, id="foreach"),
    pytest.param({"fused": True}, id="fused", marks=needs_compiler),
]


@pytest.mark.parametrize("path", PATHS)
def test_numeric_steps_of_old_checkpoints_load_and_step_like_torch(path):
    config = CONFIGS[-1]
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt = _trained(RMSprop, ours, 3, **config, **path)
    theirs_opt = _trained(torch.optim.RMSprop, theirs, 3, **config)
    state_dict = copy.deepcopy(theirs_opt.state_dict())
    for p_state in state_dict["state"].values():
        p_state["step"] = p_state["step"].item()  # the format before torch 1.12
    ours_opt.load_state_dict(state_dict)
    theirs_opt.load_state_dict(copy.deepcopy(state_dict))
    _continue(ours_opt, ours, 3, 3)
    _continue(theirs_opt, theirs, 3, 3)
    assert_close_states(ours_opt, ours, theirs_opt, theirs, torch.float64)
    assert all(torch.is_tensor(s["step"]) for s in ours_opt.state.values())


@pytest.mark.parametrize("path", PATHS)
def test_groups_lacking_newer_keys_load_and_step(path):
    params = clone_params(make_params(torch.float32))
    opt = _trained(RMSprop, params, 2, momentum=0.2, centered=True, **path)
    state_dict = copy.deepcopy(opt.state_dict())
    newer = ("maximize", "foreach", "capturable", "differentiable", "fused", "eps_in_sqrt")
    for group in state_dict["param_groups"]:
        for key in newer:
            del group[key]
    opt.load_state_dict(state_dict)
    assert opt.param_groups[0]["maximize"] is False and opt.param_groups[0]["fused"] is None
    _continue(opt, params, 2, 2)
    assert all(s["step"].item() >= 3 for s in opt.state.values())


@pytest.mark.parametrize("path", PATHS)
def test_buffers_a_state_lacks_start_from_zero(path):
    # A plain RMSprop checkpoint resumed with momentum and centered switched on (the loaded
    # groups carry the checkpoint's options, so they are changed after loading): torch
    # raises KeyError('momentum_buffer'); we start the new buffers at zero.
    params = clone_params(make_params(torch.float64))
    opt = _trained(RMSprop, params, 2, **path)
    opt.load_state_dict(opt.state_dict())
    expected = copy.deepcopy(opt.state_dict())
    for options in (opt.param_groups[0], expected["param_groups"][0]):
        options.update(momentum=0.5, centered=True)
    for p_state in expected["state"].values():
        p_state["momentum_buffer"] = torch.zeros_like(p_state["square_avg"])
        p_state["grad_avg"] = torch.zeros_like(p_state["square_avg"])
    reference_params = [p.detach().clone().requires_grad_() for p in params]
    reference = torch.optim.RMSprop(reference_params)
    reference.load_state_dict(expected)
    _continue(opt, params, 2, 2)
    _continue(reference, reference_params, 2, 2)
    assert_close_states(opt, params, reference, reference_params, torch.float64)


def _mismatched(kind):
    """A trained state dict and the parameters it does not fit, with the expected message."""
    if kind == "smaller":  # the state of a smaller model: the fused kernel would overrun it
        source, target = [torch.zeros(3)], [torch.zeros(5)]
        message = (
            r"parameter 0 of group 0: 'square_avg' has shape \[3\] "
            r"but the parameter has shape \[5\]"
        )
    elif kind == "larger":
        source, target = [torch.zeros(2, 4)], [torch.zeros(2, 3)]
        message = r"'square_avg' has shape \[2, 4\] but the parameter has shape \[2, 3\]"
    elif kind == "dtype":  # a real model's state loaded into a complex one: no cast happens
        source, target = [torch.zeros(4)], [torch.zeros(4, dtype=torch.complex64)]
        message = "'square_avg' has dtype torch.float32 but the parameter has dtype torch.complex64"
    elif kind == "layout":
        source, target = [torch.zeros(4)], [torch.zeros(4)]
        message = (
            "'square_avg' has layout torch.sparse_coo but the parameter has layout torch.strided"
        )
    else:  # second parameter of a second group, momentum buffer
        source = [torch.zeros(2), torch.zeros(2), torch.zeros(6)]
        target = [torch.zeros(2), torch.zeros(2), torch.zeros(7)]
        message = r"parameter 1 of group 1: 'momentum_buffer' has shape \[6\]"
    source = [p.requires_grad_() for p in source]
    for p in source:
        p.grad = torch.ones_like(p)
    opt = RMSprop([{"params": source[:1]}, {"params": source[1:]}], momentum=0.5)
    opt.step()
    state_dict = opt.state_dict()
    if kind == "layout":
        state_dict["state"][0]["square_avg"] = state_dict["state"][0]["square_avg"].to_sparse()
    if kind == "group":
        state_dict["state"][2]["square_avg"] = torch.zeros(7)
    target = [p.requires_grad_() for p in target]
    return state_dict, target, message


@pytest.mark.parametrize("kind", ["smaller", "larger", "dtype", "layout", "group"])
@pytest.mark.parametrize("path", PATHS)
def test_a_checkpoint_that_does_not_fit_is_refused_naming_parameter_and_key(kind, path):
    state_dict, target, message = _mismatched(kind)
    opt = RMSprop([{"params": target[:1]}, {"params": target[1:]}], momentum=0.5, **path)
    for p in target:
        p.grad = torch.ones_like(p)
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state_dict)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key, p_state in before["state"].items():
        for name, value in p_state.items():
            assert torch.equal(after["state"][key][name], value)
    opt.step()  # the optimizer still works


# --- constructor checks -----------------------------------------------------------------------


def test_sparse_gradients_raise_torchs_error():
    emb = torch.nn.Embedding(5, 2, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match=r"^RMSprop does not support sparse gradients$"):
        RMSprop(emb.parameters()).step()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": -1e-3}, "Invalid learning rate: -0.001"),
        ({"lr": float("nan")}, "Invalid learning rate: nan"),
        ({"eps": -1.0}, "Invalid epsilon value: -1.0"),
        ({"eps": float("nan")}, "Invalid epsilon value: nan"),
        ({"momentum": -0.1}, "Invalid momentum value: -0.1"),
        ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
        ({"alpha": -0.5}, "Invalid alpha value: -0.5"),
        ({"alpha": float("nan")}, "Invalid alpha value: nan"),
        ({"lr": -1.0, "eps": -1.0}, "Invalid learning rate: -1.0"),  # torch's order
    ],
)
def test_rejects_what_torch_rejects_with_torchs_messages(kwargs, message):
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match=f"^{message}$") as ours:
        RMSprop(p, **kwargs)
    with pytest.raises(ValueError) as theirs:
        torch.optim.RMSprop(p, **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"alpha": 1.5},
            r"^Invalid alpha value: 1.5 \(must be at most 1: .*grows without bound\)$",
        ),
        ({"momentum": 1.0}, r"^Invalid momentum value: 1.0 \(must be below 1: .*never decays\)$"),
        ({"momentum": 2.0}, r"^Invalid momentum value: 2.0 \(must be below 1"),
        ({"lr": float("inf")}, r"^Invalid learning rate: inf \(must be finite\)$"),
        (
            {"lr": torch.tensor([float("inf")])},
            r"^Invalid learning rate: tensor\(\[inf\]\) \(must be finite\)$",
        ),
    ],
)
def test_rejects_what_torch_accepts_but_is_nonsense(kwargs, message):
    p = [torch.zeros(1, requires_grad=True)]
    torch.optim.RMSprop(p, **kwargs)  # torch takes it
    with pytest.raises(ValueError, match=message):
        RMSprop(p, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.0, "alpha": 0.0, "eps": 0.0, "momentum": 0.0, "weight_decay": 0.0},
        {"alpha": 1.0, "momentum": 0.999},
        {"alpha": 0.0, "momentum": 0.5, "centered": True},
    ],
    ids=["zeros", "upper", "alpha0-centered"],
)
def test_accepts_the_boundaries_and_steps_like_torch(kwargs):
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt, theirs_opt = RMSprop(ours, **kwargs), torch.optim.RMSprop(theirs, **kwargs)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 3)
    assert_identical(ours_opt, ours, theirs_opt, theirs)


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    p = torch.tensor([2.0], requires_grad=True)
    opt = RMSprop([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert loss is not None and loss.item() == 4.0
    assert p.item() < 2.0


def test_deepcopy_keeps_every_group_option():
    p = torch.zeros(1, requires_grad=True)
    opt = RMSprop([{"params": [p], "lr": 0.5}], eps_in_sqrt=True)
    clone = copy.deepcopy(opt)
    assert {k: v for k, v in clone.param_groups[0].items() if k != "params"} == {
        k: v for k, v in opt.param_groups[0].items() if k != "params"
    }
    assert clone.param_groups[0]["lr"] == 0.5 and clone.param_groups[0]["eps_in_sqrt"] is True
