"""The chapter's from-scratch ``rmsprop`` against the formula, the library's general update
and the optimizer class.

Why not bit for bit everywhere: the chapter's state update ``gamma * s + (1 - gamma) * g**2``
rounds three times after ``gamma * s`` (``g**2``, the product, the sum), while the library's
``square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)`` rounds twice: ``(1 - alpha) * g``,
then one fused multiply-add of that times ``g`` plus the state. Each rounding is within half a
machine epsilon, so after one step from the same state the two states differ by at most 5/2
machine epsilons relative to the state (measured: just under 2). The parameter update
``p - lr * g / sqrt(s + eps)`` is the same operations as ``addcdiv`` and agrees bit for bit
given the same state. Over the chapter's 300 steps these differences leave the recorded
losses within ``ROUNDING_RTOL`` of each other (measured: at most 2.4e-7 relative over seeds
0-19), far below the effect of where ε goes.
"""

import math

import pytest
import torch

from rmsprop_lib import (
    RMSprop,
    init_rmsprop_states,
    rmsprop,
    rmsprop_update,
    train_ch7,
    train_pytorch_ch7,
)

CHAPTER = {"lr": 0.01, "gamma": 0.9}
ROUNDING_RTOL = 1e-6  # about 8 float32 ulps at the chapter's loss of 0.24


def _params_with_grads(generator, dtype=torch.float64, shapes=((5, 1), (1,))):
    params = [
        torch.randn(shape, dtype=dtype, generator=generator).requires_grad_() for shape in shapes
    ]
    for p in params:
        p.grad = torch.randn(p.shape, dtype=dtype, generator=generator)
    return params


def test_rmsprop_follows_the_chapter_formula_in_plain_python_floats(generator):
    # The reference is the chapter's two formulas evaluated element by element with math.sqrt.
    w, b = _params_with_grads(generator)
    states = [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    ref_x = [p.detach().flatten().tolist() for p in (w, b)]
    ref_s = [[0.0] * p.numel() for p in (w, b)]
    gamma, lr, eps = 0.8, 0.03, 1e-6
    for _ in range(5):
        for p in (w, b):
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=generator)
        for i, p in enumerate((w, b)):
            for k, g in enumerate(p.grad.flatten().tolist()):
                ref_s[i][k] = gamma * ref_s[i][k] + (1 - gamma) * g * g
                ref_x[i][k] -= lr / math.sqrt(ref_s[i][k] + eps) * g
        rmsprop([w, b], states, {"lr": lr, "gamma": gamma})
        for got, want in zip([w, b, *states], [*ref_x, *ref_s]):
            assert got.detach().flatten().tolist() == pytest.approx(want, rel=1e-13, abs=1e-15)


def test_rmsprop_uses_eps_1e_minus_6_inside_the_root(generator):
    # With gamma = 0 the state is g**2, so the step is lr * g / sqrt(g**2 + 1e-6).
    w, b = _params_with_grads(generator)
    w.grad = torch.tensor([[1e-4], [1e-3], [0.0], [-2e-3], [5.0]], dtype=torch.float64)
    w0 = w.detach().clone()
    rmsprop(
        [w, b],
        [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)],
        {"lr": 1.0, "gamma": 0.0},
    )
    expected = [
        x - g / math.sqrt(g * g + 1e-6)
        for x, g in zip(w0.flatten().tolist(), w.grad.flatten().tolist())
    ]
    assert w.detach().flatten().tolist() == pytest.approx(expected, rel=1e-14)


def test_rmsprop_with_gamma_one_keeps_the_state_at_zero(generator):
    w, b = _params_with_grads(generator)
    w0 = w.detach().clone()
    states = [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    rmsprop([w, b], states, {"lr": 0.01, "gamma": 1.0})
    assert all(torch.count_nonzero(s) == 0 for s in states)
    torch.testing.assert_close(w.detach(), w0 - 0.01 * w.grad / 1e-3, rtol=1e-14, atol=0)


def _library_update(params, states, hyperparams):
    """The same step through the library's general update, in the chapter's calling shape."""
    rmsprop_update(
        [p.detach() for p in params],
        [p.grad for p in params],
        list(states),
        lr=hyperparams["lr"],
        alpha=hyperparams["gamma"],
        eps=1e-6,
        eps_in_sqrt=True,
    )


def _both(generator, gamma, dtype, steps=5, shapes=((5, 1), (1,))):
    ours = _params_with_grads(generator, dtype, shapes)
    lib = [p.detach().clone().requires_grad_() for p in ours]
    s_ours = [torch.zeros_like(p) for p in ours]
    s_lib = [torch.zeros_like(p) for p in ours]
    for _ in range(steps):
        for p, q in zip(ours, lib):
            p.grad = torch.randn(p.shape, dtype=dtype, generator=generator)
            q.grad = p.grad.clone()
        rmsprop(ours, s_ours, {"lr": 0.05, "gamma": gamma})
        _library_update(lib, s_lib, {"lr": 0.05, "gamma": gamma})
        yield ours, s_ours, lib, s_lib


@pytest.mark.parametrize("gamma", [0.0, 1.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rmsprop_equals_rmsprop_update_bit_for_bit_when_no_product_is_rounded(
    generator, gamma, dtype
):
    # gamma = 0: s = g*g exactly as addcmul computes it; gamma = 1: s stays 0 in both.
    for ours, s_ours, lib, s_lib in _both(generator, gamma, dtype):
        for a, b in zip([*ours, *s_ours], [*lib, *s_lib]):
            assert torch.equal(a.detach(), b.detach())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_one_step_differs_from_rmsprop_update_by_the_rounding_bound_of_the_state(generator, dtype):
    p = torch.randn(10_000, dtype=dtype, generator=generator).requires_grad_()
    p.grad = torch.randn(10_000, dtype=dtype, generator=generator)
    s = torch.rand(10_000, dtype=dtype, generator=generator)
    q, s_lib = p.detach().clone(), s.clone()
    rmsprop([p], [s], {"lr": 0.05, "gamma": 0.9})
    rmsprop_update([q], [p.grad], [s_lib], lr=0.05, alpha=0.9, eps=1e-6, eps_in_sqrt=True)
    assert ((s - s_lib).abs() <= 2.5 * torch.finfo(dtype).eps * s_lib.abs()).all()
    assert not torch.equal(s, s_lib)  # else this test would not show the bound


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_given_its_state_the_parameter_step_is_bit_for_bit_the_librarys(generator, dtype):
    p = torch.randn(10_000, dtype=dtype, generator=generator).requires_grad_()
    p.grad = torch.randn(10_000, dtype=dtype, generator=generator)
    s = torch.rand(10_000, dtype=dtype, generator=generator)
    p0 = p.detach().clone()
    rmsprop([p], [s], {"lr": 0.05, "gamma": 0.9})
    # rmsprop_update's step with eps_in_sqrt, applied to the state rmsprop produced:
    assert torch.equal(p.detach(), p0.addcdiv(p.grad, s.add(1e-6).sqrt_(), value=-0.05))


def _fma_variant(params, states, hyperparams):
    """``rmsprop`` with the state computed as one fused multiply-add, like the library."""
    gamma, eps = hyperparams["gamma"], 1e-6
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = torch.addcmul(gamma * s, p.grad, p.grad, value=1 - gamma)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)


def _runs(features, labels, seed):
    scratch = train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=seed)
    fma = train_ch7(_fma_variant, init_rmsprop_states(), CHAPTER, features, labels, seed=seed)
    update = train_ch7(_library_update, init_rmsprop_states(), CHAPTER, features, labels, seed=seed)
    optimizer = train_pytorch_ch7(
        RMSprop,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "eps_in_sqrt": True, "foreach": False},
        features,
        labels,
        seed=seed,
    )
    return scratch, fma, update, optimizer


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chapter_run_matches_the_library_to_rounding_and_only_the_fma_differs(chapter_data, seed):
    features, labels = chapter_data
    scratch, fma, update, optimizer = _runs(features, labels, seed)
    # The general update and the optimizer class are the same operations: bit for bit.
    assert update.losses == optimizer.losses
    # Computing the state with one fused multiply-add is the only difference from them.
    assert fma.losses == optimizer.losses
    # The chapter's formula rounds the product once more: equal within the stated bound.
    torch.testing.assert_close(
        torch.tensor(scratch.losses), torch.tensor(optimizer.losses), rtol=ROUNDING_RTOL, atol=0
    )


def test_rounding_is_far_below_the_effect_of_where_eps_goes(chapter_data):
    # The page's seed: the chapter page prints both differences and their ratio.
    features, labels = chapter_data
    scratch, _, _, optimizer = _runs(features, labels, 0)
    torch_run = train_pytorch_ch7(
        torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=0
    )
    rounding = max(abs(a - b) for a, b in zip(scratch.losses, optimizer.losses))
    eps_gap = max(abs(a - b) for a, b in zip(scratch.losses, torch_run.losses))
    assert 0 < rounding and 10 * rounding < eps_gap


def test_rmsprop_checks_everything_before_changing_anything(generator):
    w, b = _params_with_grads(generator)
    before = [w.detach().clone(), b.detach().clone()]
    states = [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)]
    with pytest.raises(ValueError, match=r"states\[1\] must match params\[1\]"):
        rmsprop([w, b], states, CHAPTER)
    assert torch.equal(w.detach(), before[0]) and torch.equal(b.detach(), before[1])
    assert not states[0].any()


def test_init_rmsprop_states_are_zeros_shaped_like_w_and_b():
    s_w, s_b = init_rmsprop_states()
    assert s_w.shape == (5, 1) and s_b.shape == (1,)
    assert s_w.dtype == s_b.dtype == torch.float32
    assert not s_w.any() and not s_b.any()
    assert init_rmsprop_states(3)[0].shape == (3, 1)
