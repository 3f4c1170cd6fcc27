"""The chapter shows ``rmsprop_lib.lesson``; the public names check and then run that code.

Each public function must compute exactly what the plain function the page shows computes
(bit for bit: it is the same code behind a check), and must really call it.
"""

import ast
import inspect
from functools import partial

import pytest
import torch

import rmsprop_lib as rl
from rmsprop_lib import lesson, scratch, trace2d, training

CHAPTER = {"lr": 0.01, "gamma": 0.9}


def _params(generator):
    w = torch.randn(5, 1, generator=generator).requires_grad_()
    b = torch.randn(1, generator=generator).requires_grad_()
    return [w, b]


def test_public_rmsprop_steps_exactly_as_the_lesson_rmsprop(generator):
    ours = _params(generator)
    shown = [p.detach().clone().requires_grad_() for p in ours]
    s_ours, s_shown = list(rl.init_rmsprop_states()), list(lesson.init_rmsprop_states())
    for _ in range(4):
        for p, q in zip(ours, shown):
            p.grad = torch.randn(p.shape, generator=generator)
            q.grad = p.grad.clone()
        rl.rmsprop(ours, s_ours, CHAPTER)
        lesson.rmsprop(shown, s_shown, CHAPTER)
        for a, b in zip([*ours, *s_ours], [*shown, *s_shown]):
            assert torch.equal(a.detach(), b.detach())


def test_public_init_states_linreg_and_loss_equal_the_lesson(generator):
    for a, b in zip(rl.init_rmsprop_states(3), lesson.init_rmsprop_states(3)):
        assert torch.equal(a, b) and a.dtype == b.dtype
    X, w, b = (torch.randn(shape, generator=generator) for shape in ((4, 3), (3, 1), (1,)))
    assert torch.equal(rl.linreg(X, w, b), lesson.linreg(X, w, b))
    y_hat, y = torch.randn(4, 1, generator=generator), torch.randn(4, generator=generator)
    assert torch.equal(rl.squared_loss(y_hat, y), lesson.squared_loss(y_hat, y))


def test_public_get_data_ch7_equals_the_chapters_recipe():
    features, labels = rl.get_data_ch7()
    shown_features, shown_labels = lesson.get_data_ch7()
    assert torch.equal(features, shown_features) and torch.equal(labels, shown_labels)
    assert shown_features.dtype == torch.float32 and shown_features.shape == (1500, 5)


def test_public_train_ch7_equals_the_lesson_loop(chapter_data):
    features, labels = chapter_data
    public = rl.train_ch7(rl.rmsprop, rl.init_rmsprop_states(), CHAPTER, features, labels)
    shown = lesson.train_ch7(
        lesson.rmsprop, lesson.init_rmsprop_states(), CHAPTER, features, labels
    )
    assert public.losses == shown.losses and public.epochs == shown.epochs
    assert len(public.losses) == 31


def test_public_train_pytorch_ch7_equals_the_lesson_loop(chapter_data):
    features, labels = chapter_data
    hyperparams = {"lr": 0.01, "alpha": 0.9}
    public = rl.train_pytorch_ch7(torch.optim.RMSprop, hyperparams, features, labels, seed=3)
    shown = lesson.train_pytorch_ch7(torch.optim.RMSprop, hyperparams, features, labels, seed=3)
    assert public.losses == shown.losses and public.epochs == shown.epochs


@pytest.mark.parametrize("name", ["train_ch7", "train_pytorch_ch7"])
def test_public_training_functions_take_the_shown_functions_parameters_by_name(name):
    # The API page and the chapter's code name them alike (the public ones make seed and
    # record_every keyword only).
    public = inspect.signature(getattr(rl, name)).parameters
    shown = inspect.signature(getattr(lesson, name)).parameters
    assert list(public) == list(shown)
    assert [p.default for p in public.values()] == [p.default for p in shown.values()]


def test_public_2d_functions_equal_the_lesson_ones():
    for public, shown in [
        (
            partial(rl.rmsprop_2d, eta=0.4, gamma=0.9),
            partial(lesson.rmsprop_2d, eta=0.4, gamma=0.9, grad=rl.grad_f_2d),
        ),
        (partial(rl.adagrad_2d, eta=0.4), partial(lesson.adagrad_2d, eta=0.4, grad=rl.grad_f_2d)),
    ]:
        a = rl.train_2d(public, steps=20)
        b = lesson.train_2d(shown, steps=20)
        assert a.points == b.points and a.states == b.states


@pytest.mark.parametrize(
    "module, name, call",
    [
        (scratch, "rmsprop", lambda: rl.rmsprop([], [], CHAPTER)),
        (scratch, "init_rmsprop_states", lambda: rl.init_rmsprop_states(2)),
        (training, "linreg", lambda: rl.linreg(torch.ones(1, 1), torch.ones(1, 1), torch.ones(1))),
        (training, "train_ch7", lambda: rl.train_ch7(rl.rmsprop, [], CHAPTER, *_tiny())),
        (
            training,
            "train_pytorch_ch7",
            lambda: rl.train_pytorch_ch7(torch.optim.SGD, {"lr": 0.1}, *_tiny()),
        ),
        (trace2d, "rmsprop_2d", lambda: rl.rmsprop_2d(1.0, 1.0, 0.0, 0.0)),
        (trace2d, "train_2d", lambda: rl.train_2d(rl.rmsprop_2d, steps=1)),
    ],
)
def test_each_public_function_runs_the_shown_function(monkeypatch, module, name, call):
    calls = []
    monkeypatch.setattr(lesson, name, lambda *args, **kwargs: calls.append(args))
    call()
    assert len(calls) == 1


def _tiny():
    return torch.ones(20, 5), torch.ones(20)


SHOWN = [
    "get_data_ch7",
    "linreg",
    "squared_loss",
    "init_rmsprop_states",
    "rmsprop",
    "data_iter",
    "train_ch7",
    "train_pytorch_ch7",
    "rmsprop_2d",
    "adagrad_2d",
    "train_2d",
]


@pytest.mark.parametrize("name", SHOWN)
def test_shown_function_is_plain_lesson_code(name):
    source = inspect.getsource(getattr(lesson, name))
    lines = source.splitlines()
    assert all(len(line) <= 88 for line in lines), name
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert ast.get_docstring(function) is None  # no English docstring on the page
    assert function.returns is None and all(a.annotation is None for a in function.args.args)
    assert "_check" not in source and "raise" not in source
    assert any("#" in line and any("\u4e00" <= c <= "\u9fff" for c in line) for line in lines)


def test_shown_rmsprop_has_at_most_12_lines():
    assert len(inspect.getsource(lesson.rmsprop).splitlines()) <= 12
