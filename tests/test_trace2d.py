import itertools
import math
from functools import partial

import pytest

from rmsprop_lib import (
    adagrad_2d,
    effective_lr,
    f_2d,
    f_2d_rotated,
    format_trace,
    grad_f_2d,
    grad_f_2d_rotated,
    rmsprop_2d,
    train_2d,
)


def test_train_2d_reproduces_the_chapter_numbers():
    trace = train_2d(partial(rmsprop_2d, eta=0.4, gamma=0.9), steps=20)
    assert len(trace.points) == 21 and trace.points[0] == (-5.0, -2.0)
    x1, x2 = trace.points[-1]
    assert x1 == pytest.approx(-0.01059867, abs=1e-8)
    assert abs(x2) < 1e-12
    assert format_trace(trace) == "epoch 20, x1 -0.010599, x2 0.000000"


def test_rmsprop_2d_first_step_by_hand():
    # g = (-1, -8); s = 0.1 g^2 = (0.1, 6.4); x -= 0.4 g / sqrt(s + 1e-6)
    x1, x2, s1, s2 = rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eta=0.4, gamma=0.9)
    assert (s1, s2) == pytest.approx((0.1, 6.4))
    assert x1 == pytest.approx(-5 + 0.4 / math.sqrt(0.1 + 1e-6))
    assert x2 == pytest.approx(-2 + 0.4 * 8 / math.sqrt(6.4 + 1e-6))


def test_adagrad_2d_sums_squared_gradients():
    trace = train_2d(partial(adagrad_2d, eta=0.4), steps=2)
    g1 = [0.2 * x1 for x1, _ in trace.points[:2]]
    assert trace.states[-1][0] == pytest.approx(g1[0] ** 2 + g1[1] ** 2)


def test_effective_lr_of_adagrad_never_increases_while_rmsprop_recovers():
    ada = effective_lr(train_2d(partial(adagrad_2d, eta=0.4), steps=40), eta=0.4)
    rms = effective_lr(train_2d(partial(rmsprop_2d, eta=0.4, gamma=0.9), steps=40), eta=0.4)
    for coord in ada:
        assert all(b <= a for a, b in itertools.pairwise(coord))
    assert rms[0][-1] > rms[0][5]


def test_gradients_match_finite_differences():
    for f, grad in [(f_2d, grad_f_2d), (f_2d_rotated, grad_f_2d_rotated)]:
        x1, x2, h = 0.7, -1.3, 1e-6
        numeric = (
            (f(x1 + h, x2) - f(x1 - h, x2)) / (2 * h),
            (f(x1, x2 + h) - f(x1, x2 - h)) / (2 * h),
        )
        assert grad(x1, x2) == pytest.approx(numeric, rel=1e-6)


def test_train_2d_starts_where_asked_and_zero_steps_is_just_the_start():
    trace = train_2d(rmsprop_2d, steps=0, start=(1.0, 1.0))
    assert trace.points == [(1.0, 1.0)] and trace.states == []


def test_rmsprop_2d_takes_the_gradient_it_is_given():
    _x1, x2, s1, s2 = rmsprop_2d(1.0, 0.0, 0.0, 0.0, eta=0.4, gamma=0.5, grad=grad_f_2d_rotated)
    g1, g2 = grad_f_2d_rotated(1.0, 0.0)  # (4.2, -3.8)
    assert (s1, s2) == pytest.approx((0.5 * g1**2, 0.5 * g2**2))
    assert x2 == pytest.approx(0.4 * 3.8 / math.sqrt(0.5 * 3.8**2 + 1e-6))
