"""rmsprop_lib.RMSprop against torch.optim.RMSprop, step by step, parameters and every state."""

import copy
import io
import math

import pytest
import torch

from rmsprop_lib import RMSprop

# The configurations PyTorch's own optimizer suite uses for RMSprop.
CONFIGS = [
    {},
    {"lr": 1e-3},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"centered": True, "weight_decay": 0.1},
    {"maximize": True, "weight_decay": 0.1},
    {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
    {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
]
IDS = ["default", "lr", "wd", "maximize", "centered-wd", "maximize-wd", "wd-centered-momentum", "all"]
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12), torch.float32: dict(rtol=1.3e-6, atol=1e-5)}


def make_params(dtype, seed=0):
    """A matrix, a vector, a 0-dim tensor and a non-contiguous (transposed) matrix."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(4, 3, dtype=dtype, generator=g)
    return [
        torch.randn(3, 5, dtype=dtype, generator=g),
        torch.randn(7, dtype=dtype, generator=g),
        torch.randn((), dtype=dtype, generator=g),
        base.t().clone().t().contiguous().t(),  # non-contiguous view layout
    ]


def clone_params(params):
    return [p.detach().clone().requires_grad_() for p in params]


def set_grads(params, step, seed=1):
    """Deterministic gradients laid out like their parameters; parameter 1 has none at steps 2 and 5."""
    g = torch.Generator().manual_seed(seed * 1000 + step)
    for i, p in enumerate(params):
        if i == 1 and step in (2, 5):
            p.grad = None
        else:
            p.grad = torch.empty_like(p).copy_(torch.randn(p.shape, dtype=p.dtype, generator=g))


def step_side_by_side(first, first_params, second, second_params, steps, after_each=None):
    """Give both parameter sets the same gradients and step both optimizers ``steps`` times."""
    for step in range(steps):
        set_grads(first_params, step)
        set_grads(second_params, step)
        first.step()
        second.step()
        if after_each is not None:
            after_each()


def assert_same(ours_opt, ours, theirs_opt, theirs, dtype):
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, **TOL[dtype])
        s, t = ours_opt.state.get(p, {}), theirs_opt.state.get(q, {})
        assert s.keys() == t.keys()
        for key in s:
            torch.testing.assert_close(s[key], t[key], **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize("foreach", [False, True, None], ids=["loop", "foreach", "default"])
def test_matches_torch_step_by_step(config, dtype, foreach):
    start = make_params(dtype)
    ours, theirs = clone_params(start), clone_params(start)
    assert not ours[3].is_contiguous()
    ours_opt = RMSprop(ours, foreach=foreach, **config)
    theirs_opt = torch.optim.RMSprop(theirs, foreach=False, **config)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 7,
                      after_each=lambda: assert_same(ours_opt, ours, theirs_opt, theirs, dtype))
    assert ours_opt.state[ours[1]]["step"].item() == 5  # skipped twice


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_foreach_equals_the_loop_exactly(config):
    start = make_params(torch.float64)
    loop, multi = clone_params(start), clone_params(start)
    loop_opt, multi_opt = RMSprop(loop, foreach=False, **config), RMSprop(multi, foreach=True, **config)
    step_side_by_side(loop_opt, loop, multi_opt, multi, 5)
    for p, q in zip(loop, multi):
        assert torch.equal(p, q)
        for key, value in loop_opt.state[p].items():
            assert torch.equal(value, multi_opt.state[q][key])


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("foreach", [False, True])
def test_eps_in_sqrt_equals_the_chapter_formula(centered, foreach):
    lr, alpha, eps = 0.05, 0.9, 1e-6
    p = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (param,) = clone_params([p])
    opt = RMSprop([param], lr=lr, alpha=alpha, eps=eps, centered=centered, foreach=foreach,
                  eps_in_sqrt=True)
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


def test_state_is_lazy_and_only_for_parameters_with_gradients():
    p, q = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = RMSprop([p, q], momentum=0.5, centered=True)
    assert len(opt.state) == 0
    p.grad = torch.ones(2)
    opt.step()
    assert set(opt.state[p]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert q not in opt.state
    assert opt.state[p]["step"].shape == () and opt.state[p]["step"].dtype == torch.float32
    assert set(RMSprop([torch.zeros(1, requires_grad=True)]).state) == set()


def _train(opt_cls, params, steps, start_step, **config):
    opt = opt_cls(params, **config)
    for step in range(start_step, start_step + steps):
        set_grads(params, step)
        opt.step()
    return opt


@pytest.mark.parametrize("direction", ["ours->torch", "torch->ours"])
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[-1]], ids=["default", "all"])
def test_state_dict_interchange_continues_identically(direction, config):
    first, second = (RMSprop, torch.optim.RMSprop) if direction == "ours->torch" else (torch.optim.RMSprop, RMSprop)
    start = make_params(torch.float64)
    reference = clone_params(start)
    _train(first, reference, 6, 0, **config)

    params = clone_params(start)
    opt = _train(first, params, 3, 0, **config)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    resumed = second(params, **config)
    resumed.load_state_dict(torch.load(buffer))
    for step in range(3, 6):
        set_grads(params, step)
        resumed.step()
    for p, q in zip(params, reference):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_complex_parameters_behave_as_their_real_views():
    g = torch.Generator().manual_seed(5)
    z = torch.randn(4, dtype=torch.complex128, generator=g).requires_grad_()
    r = torch.view_as_real(z.detach().clone()).requires_grad_()
    config = CONFIGS[-1]
    z_opt, r_opt = RMSprop([z], **config), RMSprop([r], **config)
    t_opt = torch.optim.RMSprop([t := z.detach().clone().requires_grad_()], foreach=False, **config)
    for step in range(4):
        grad = torch.randn(4, dtype=torch.complex128, generator=g)
        z.grad, t.grad, r.grad = grad.clone(), grad.clone(), torch.view_as_real(grad).clone()
        z_opt.step(), r_opt.step(), t_opt.step()
        torch.testing.assert_close(torch.view_as_real(z.detach()), r.detach())
        torch.testing.assert_close(z.detach(), t.detach())


def test_sparse_gradients_raise_a_clear_error():
    emb = torch.nn.Embedding(5, 2, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="^RMSprop does not support sparse gradients$"):
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
def test_rejects_what_torch_rejects_with_torch_messages(kwargs, message):
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match=f"^{message}$") as ours:
        RMSprop(p, **kwargs)
    with pytest.raises(ValueError) as theirs:
        torch.optim.RMSprop(p, **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 1.5}, r"^Invalid alpha value: 1.5 \(must be at most 1: .*grows without bound\)$"),
        ({"momentum": 1.0}, r"^Invalid momentum value: 1.0 \(must be below 1: .*never decays\)$"),
        ({"momentum": 2.0}, r"^Invalid momentum value: 2.0 \(must be below 1"),
        ({"lr": float("inf")}, r"^Invalid learning rate: inf \(must be finite\)$"),
    ],
)
def test_rejects_what_torch_accepts_but_is_nonsense(kwargs, message):
    p = [torch.zeros(1, requires_grad=True)]
    torch.optim.RMSprop(p, **kwargs)  # torch takes it
    with pytest.raises(ValueError, match=message):
        RMSprop(p, **kwargs)


def test_accepts_the_boundaries():
    p = [torch.zeros(1, requires_grad=True)]
    RMSprop(p, lr=0.0, alpha=0.0, eps=0.0, momentum=0.0, weight_decay=0.0)
    RMSprop(p, alpha=1.0, momentum=0.999)


@pytest.mark.parametrize("opt_cls", [RMSprop, torch.optim.RMSprop])
def test_eps_zero_gives_nan_where_the_square_average_is_zero(opt_cls):
    p = torch.ones(2, requires_grad=True)
    p.grad = torch.tensor([1.0, 0.0])
    opt_cls([p], eps=0.0).step()
    assert math.isfinite(p[0].item()) and math.isnan(p[1].item())


@pytest.mark.parametrize("opt_cls", [RMSprop, torch.optim.RMSprop])
def test_centered_variance_can_round_negative_and_gives_nan(opt_cls):
    p = torch.zeros(1, dtype=torch.float32, requires_grad=True)
    opt = opt_cls([p], centered=True, alpha=0.9, eps=1e-8)
    for _ in range(400):  # a constant gradient: v - m^2 -> 0 and rounds below it
        p.grad = torch.full((1,), 3.0)
        opt.step()
    state = opt.state[p]
    assert (state["square_avg"] - state["grad_avg"] ** 2).item() < 0
    assert math.isnan(p.item())


def test_centered_negative_variance_is_absorbed_with_eps_in_sqrt():
    # With |g| = 0.03 the rounding error of v - m^2 (~1e-10) is far below eps = 1e-6.
    # The per-tensor loop (torch's kernels, which fuse v - m*m into one rounding) is the
    # one that rounds below zero here.
    p = torch.zeros(1, dtype=torch.float32, requires_grad=True)
    opt = RMSprop([p], centered=True, alpha=0.9, eps=1e-6, eps_in_sqrt=True, foreach=False)
    for _ in range(400):
        p.grad = torch.full((1,), 0.03)
        opt.step()
    state = opt.state[p]
    assert (state["square_avg"] - state["grad_avg"] ** 2).item() < 0
    assert math.isfinite(p.item())


def test_loss_goes_down_and_up_with_maximize():
    for maximize, sign in [(False, -1), (True, 1)]:
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        x, y = torch.randn(32, 3), torch.randn(32, 1)
        opt = RMSprop(model.parameters(), lr=1e-2, maximize=maximize)
        losses = []
        for _ in range(20):
            loss = torch.nn.functional.mse_loss(model(x), y)
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert sign * (losses[-1] - losses[0]) > 0


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    p = torch.tensor([2.0], requires_grad=True)
    opt = RMSprop([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0
    assert p.item() < 2.0


def test_deepcopy_and_param_groups_keep_options():
    p = torch.zeros(1, requires_grad=True)
    opt = RMSprop([{"params": [p], "lr": 0.5}], eps_in_sqrt=True)
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["lr"] == 0.5 and clone.param_groups[0]["eps_in_sqrt"] is True
