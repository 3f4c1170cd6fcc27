"""rmsprop_update (functional.py): its errors, both implementations, and the formulas."""

import math

import pytest
import torch

from helpers import CONFIGS, IDS, make_params
from rmsprop_lib import rmsprop_update


def _lists(params, centered=True, momentum=True):
    g = torch.Generator().manual_seed(7)
    grads = [torch.randn(p.shape, dtype=p.dtype, generator=g) for p in params]
    square_avgs = [torch.rand(p.shape, dtype=p.dtype, generator=g) + 1.0 for p in params]
    grad_avgs = (
        [torch.randn(p.shape, dtype=p.dtype, generator=g) * 0.1 for p in params]
        if centered
        else None
    )
    buffers = (
        [torch.randn(p.shape, dtype=p.dtype, generator=g) for p in params] if momentum else None
    )
    return grads, square_avgs, grad_avgs, buffers


def _copy(tensors):
    return None if tensors is None else [t.clone() for t in tensors]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda a: a.update(grads=a["grads"][:-1]),
            r"^rmsprop_update: got 4 params, 3 grads and 4 square_avgs; "
            r"each list needs one tensor per parameter$",
        ),
        (
            lambda a: a.update(square_avgs=a["square_avgs"][:1]),
            r"^rmsprop_update: got 4 params, 4 grads and 1 square_avgs",
        ),
        (
            lambda a: a.update(grad_avgs=None, centered=True),
            r"^rmsprop_update: centered=True needs one grad_avg tensor per parameter$",
        ),
        (
            lambda a: a.update(grad_avgs=a["square_avgs"][:2], centered=True),
            r"^rmsprop_update: centered=True needs one grad_avg tensor per parameter$",
        ),
        (
            lambda a: a.update(momentum_buffers=None, momentum=0.5),
            r"^rmsprop_update: momentum > 0 needs one momentum buffer per parameter$",
        ),
        (lambda a: a.update(lr=torch.tensor([0.1, 0.2])), r"^Tensor lr must be 1-element$"),
    ],
    ids=["grads", "square_avgs", "no-grad_avgs", "short-grad_avgs", "no-buffers", "tensor-lr"],
)
def test_rmsprop_update_names_what_is_wrong_and_changes_nothing(change, message):
    params = make_params(torch.float64)
    before = [p.clone() for p in params]
    grads, square_avgs, _, _ = _lists(params, centered=False, momentum=False)
    arguments = dict(
        params=params, grads=grads, square_avgs=square_avgs, lr=0.1, alpha=0.9, eps=1e-8
    )
    change(arguments)
    with pytest.raises(ValueError, match=message):
        rmsprop_update(**arguments)
    assert all(torch.equal(p, q) for p, q in zip(params, before, strict=True))


def test_the_multi_tensor_update_refuses_autograd_like_torch():
    params = make_params(torch.float64)
    grads, square_avgs, _, _ = _lists(params, centered=False, momentum=False)
    with pytest.raises(AssertionError, match=r"^_foreach ops don't support autograd$"):
        rmsprop_update(
            params,
            grads,
            square_avgs,
            lr=0.1,
            alpha=0.9,
            eps=1e-8,
            foreach=True,
            differentiable=True,
        )


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_multi_tensor_equals_loop_exactly(config, eps_in_sqrt):
    # float32 and float64 and a complex parameter in the same lists: the multi-tensor path
    # buckets them by dtype and views complex tensors as real.
    params = make_params(torch.float64) + make_params(torch.float32, seed=1)[:2]
    params.append(
        torch.randn(3, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))
    )
    config = {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, **config}
    centered, momentum = config.get("centered", False), config.get("momentum", 0) > 0
    results = []
    for foreach in (False, True):
        ps = [p.clone() for p in params]
        grads, square_avgs, grad_avgs, buffers = _lists(ps, centered, momentum)
        for _ in range(3):
            rmsprop_update(
                ps,
                grads,
                square_avgs,
                grad_avgs,
                buffers,
                foreach=foreach,
                eps_in_sqrt=eps_in_sqrt,
                **config,
            )
        results.append([ps, square_avgs, grad_avgs or [], buffers or []])
    for loop_list, multi_list in zip(*results, strict=True):
        for a, b in zip(loop_list, multi_list, strict=True):
            if a.is_complex() and config.get("weight_decay"):
                # The loop adds the weight decay in complex arithmetic (as torch's loop does)
                # and the multi-tensor path on real views (as torch's): one rounding apart.
                torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-17)
            else:
                assert torch.equal(a, b)


@pytest.mark.parametrize("shape", [[], [1], [1, 1]], ids=str)
@pytest.mark.parametrize("foreach", [False, True])
def test_tensor_lr_gives_the_numbers_of_its_value(shape, foreach):
    params = make_params(torch.float64)
    runs = []
    for lr in (0.25, torch.full(shape, 0.25, dtype=torch.float64)):
        ps = [p.clone() for p in params]
        grads, square_avgs, grad_avgs, buffers = _lists(ps)
        rmsprop_update(
            ps,
            grads,
            square_avgs,
            grad_avgs,
            buffers,
            lr=lr,
            alpha=0.9,
            eps=1e-8,
            momentum=0.5,
            centered=True,
            foreach=foreach,
        )
        runs.append(ps)
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


@pytest.mark.parametrize("foreach", [False, True])
def test_one_step_is_the_formula(foreach):
    lr, alpha, eps, wd, mu = 0.1, 0.8, 1e-3, 0.05, 0.3
    p = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    g = torch.tensor([0.3, 0.1, -4.0], dtype=torch.float64)
    v, m, b = (
        torch.full((3,), 0.2, dtype=torch.float64),
        torch.full((3,), 0.1, dtype=torch.float64),
        torch.ones(3, dtype=torch.float64),
    )
    param, vs, ms, bs = p.clone(), [v.clone()], [m.clone()], [b.clone()]
    rmsprop_update(
        [param],
        [g],
        vs,
        ms,
        bs,
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=wd,
        momentum=mu,
        centered=True,
        maximize=True,
        foreach=foreach,
    )
    d = -g + wd * p
    v_new = alpha * v + (1 - alpha) * d * d
    m_new = alpha * m + (1 - alpha) * d
    b_new = mu * b + d / ((v_new - m_new**2).sqrt() + eps)
    torch.testing.assert_close(vs[0], v_new, rtol=1e-15, atol=0)
    torch.testing.assert_close(ms[0], m_new, rtol=1e-15, atol=0)
    torch.testing.assert_close(bs[0], b_new, rtol=1e-14, atol=0)
    torch.testing.assert_close(param, p - lr * b_new, rtol=1e-14, atol=0)


def test_eps_in_sqrt_puts_eps_inside_the_root():
    param, v = torch.ones(1, dtype=torch.float64), [torch.zeros(1, dtype=torch.float64)]
    rmsprop_update(
        [param],
        [torch.full((1,), 1e-4, dtype=torch.float64)],
        v,
        lr=1.0,
        alpha=0.0,
        eps=1e-6,
        eps_in_sqrt=True,
    )
    torch.testing.assert_close(
        param, torch.tensor([1 - 1e-4 / math.sqrt(1e-8 + 1e-6)], dtype=torch.float64)
    )


def test_nothing_with_no_parameters():
    rmsprop_update([], [], [], lr=0.1, alpha=0.9, eps=1e-8, foreach=True)
    rmsprop_update([], [], [], lr=0.1, alpha=0.9, eps=1e-8, foreach=False)
