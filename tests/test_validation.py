"""Every public function of the chapter rejects bad arguments with one exact, clear message.

``TypeError`` for a wrong type, ``ValueError`` for a value out of range, as
``torch.optim.RMSprop`` does; the message names the function, the argument and the value.
(The data loader's malformed files are in ``test_data.py``.)
"""

import math
from functools import partial

import pytest
import torch

import rmsprop_lib as rl

NAN, INF = math.nan, math.inf


def _params():
    w = torch.zeros(5, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    w.grad, b.grad = torch.ones(5, 1), torch.ones(1)
    return [w, b]


def _data(n=20, d=5, dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    return (
        torch.randn(n, d, generator=generator, dtype=dtype),
        torch.randn(n, generator=generator, dtype=dtype),
    )


def _with(tensor, index, value):
    tensor = tensor.clone()
    tensor[index] = value
    return tensor


def _rmsprop(params=None, states=None, hyperparams=None):
    rl.rmsprop(
        _params() if params is None else params,
        list(rl.init_rmsprop_states()) if states is None else states,
        {"lr": 0.01, "gamma": 0.9} if hyperparams is None else hyperparams,
    )


def _scratch(**changes):
    features, labels = _data()
    args = dict(
        trainer_fn=rl.rmsprop,
        states=rl.init_rmsprop_states(),
        hyperparams={"lr": 0.01, "gamma": 0.9},
        features=features,
        labels=labels,
    )
    args.update(changes)
    rl.train_ch7(**args)


def _concise(**changes):
    features, labels = _data()
    args = dict(
        trainer_fn=torch.optim.RMSprop,
        hyperparams={"lr": 0.01},
        features=features,
        labels=labels,
    )
    args.update(changes)
    rl.train_pytorch_ch7(**args)


def _grid(lrs=(0.01, 0.1, 1.0), gammas=(0.9, 0.99), losses=None):
    rl.plot_final_loss_grid(lrs, gammas, losses or [[0.3, 0.25, 0.4], [0.3, 0.24, 0.5]])


_trace = rl.train_2d(rl.rmsprop_2d, steps=2)
_result = rl.TrainResult(losses=[0.5, 0.3], epochs=[0.0, 1.0], epoch_times=[0.1])
_features, _labels = _data()
_keys = "['gamma', 'lr']"
_lr, _gamma = 'hyperparams["lr"]', 'hyperparams["gamma"]'

CASES = [
    # rmsprop: the chapter's update
    (
        "rmsprop-hyperparams-list",
        lambda: _rmsprop(hyperparams=[0.01]),
        TypeError,
        "rmsprop: hyperparams must be a dict, got list [0.01]",
    ),
    (
        "rmsprop-missing-gamma",
        lambda: _rmsprop(hyperparams={"lr": 0.1}),
        ValueError,
        f"rmsprop: hyperparams must have the keys {_keys}, missing ['gamma']",
    ),
    (
        "rmsprop-unknown-eps",
        lambda: _rmsprop(hyperparams={"lr": 0.1, "gamma": 0.9, "eps": 1e-8}),
        ValueError,
        f"rmsprop: hyperparams must have the keys {_keys}, unknown ['eps']",
    ),
    (
        "rmsprop-lr-nan",
        lambda: _rmsprop(hyperparams={"lr": NAN, "gamma": 0.9}),
        ValueError,
        f"rmsprop: {_lr} must be finite, got nan",
    ),
    (
        "rmsprop-lr-inf",
        lambda: _rmsprop(hyperparams={"lr": INF, "gamma": 0.9}),
        ValueError,
        f"rmsprop: {_lr} must be finite, got inf",
    ),
    (
        "rmsprop-lr-negative",
        lambda: _rmsprop(hyperparams={"lr": -0.1, "gamma": 0.9}),
        ValueError,
        f"rmsprop: {_lr} must be >= 0, got -0.1",
    ),
    (
        "rmsprop-lr-string",
        lambda: _rmsprop(hyperparams={"lr": "0.01", "gamma": 0.9}),
        TypeError,
        f"rmsprop: {_lr} must be a real number, got str '0.01'",
    ),
    (
        "rmsprop-lr-bool",
        lambda: _rmsprop(hyperparams={"lr": True, "gamma": 0.9}),
        TypeError,
        f"rmsprop: {_lr} must be a real number, got bool True",
    ),
    (
        "rmsprop-gamma-above-1",
        lambda: _rmsprop(hyperparams={"lr": 0.1, "gamma": 1.5}),
        ValueError,
        f"rmsprop: {_gamma} must be in [0, 1], got 1.5",
    ),
    (
        "rmsprop-gamma-negative",
        lambda: _rmsprop(hyperparams={"lr": 0.1, "gamma": -0.1}),
        ValueError,
        f"rmsprop: {_gamma} must be in [0, 1], got -0.1",
    ),
    (
        "rmsprop-gamma-nan",
        lambda: _rmsprop(hyperparams={"lr": 0.1, "gamma": NAN}),
        ValueError,
        f"rmsprop: {_gamma} must be finite, got nan",
    ),
    (
        "rmsprop-gamma-tensor",
        lambda: _rmsprop(hyperparams={"lr": 0.1, "gamma": torch.tensor(0.5)}),
        TypeError,
        f"rmsprop: {_gamma} must be a real number, got Tensor tensor(0.5000)",
    ),
    (
        "rmsprop-params-none",
        lambda: rl.rmsprop(None, [], {"lr": 0.1, "gamma": 0.9}),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "rmsprop: params must be a list of tensors, got NoneType None",
    ),
    (
        "rmsprop-states-too-few",
        lambda: _rmsprop(states=[torch.zeros(5, 1)]),
        ValueError,
        "rmsprop: need one state per parameter, got 2 params and 1 states",
    ),
    (
        "rmsprop-state-shape",
        lambda: _rmsprop(states=[torch.zeros(5, 1), torch.zeros(2)]),
        ValueError,
        "rmsprop: states[1] must match params[1] (torch.float32, shape (1,)), got "
        "torch.float32, shape (2,)",
    ),
    (
        "rmsprop-state-dtype",
        lambda: _rmsprop(states=[torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1)]),
        ValueError,
        "rmsprop: states[0] must match params[0] (torch.float32, shape (5, 1)), got "
        "torch.float64, shape (5, 1)",
    ),
    (
        "rmsprop-param-float",
        lambda: _rmsprop(params=[1.0, _params()[1]]),
        TypeError,
        "rmsprop: params[0] must be a torch.Tensor, got float 1.0",
    ),
    (
        "rmsprop-0-dim",
        lambda: _rmsprop(
            params=[torch.tensor(1.0), _params()[1]], states=[torch.tensor(0.0), torch.zeros(1)]
        ),
        ValueError,
        "rmsprop: params[0] must have at least one dimension, got a 0-dim tensor",
    ),
    (
        "rmsprop-no-grad",
        lambda: _rmsprop(params=[torch.zeros(5, 1), _params()[1]]),
        ValueError,
        "rmsprop: params[0] has no gradient (call backward() first)",
    ),
    # init_rmsprop_states
    (
        "init-zero",
        lambda: rl.init_rmsprop_states(0),
        ValueError,
        "init_rmsprop_states: num_features must be a positive integer, got 0",
    ),
    (
        "init-float",
        lambda: rl.init_rmsprop_states(5.0),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "init_rmsprop_states: num_features must be an integer, got float 5.0",
    ),
    (
        "init-bool",
        lambda: rl.init_rmsprop_states(True),
        TypeError,
        "init_rmsprop_states: num_features must be an integer, got bool True",
    ),
    # train_ch7
    (
        "scratch-optimizer-none",
        lambda: _scratch(trainer_fn=None),
        TypeError,
        "train_ch7: trainer_fn must be callable, got NoneType None",
    ),
    (
        "scratch-hyperparams-list",
        lambda: _scratch(hyperparams=[]),
        TypeError,
        "train_ch7: hyperparams must be a dict, got list []",
    ),
    (
        "scratch-features-list",
        lambda: _scratch(features=[[1.0]]),
        TypeError,
        "train_ch7: features must be a torch.Tensor, got list [[1.0]]",
    ),
    (
        "scratch-features-int",
        lambda: _scratch(features=torch.ones(20, 5, dtype=torch.int64)),
        TypeError,
        "train_ch7: features must have a floating-point dtype, got torch.int64",
    ),
    (
        "scratch-features-1d",
        lambda: _scratch(features=torch.ones(20)),
        ValueError,
        "train_ch7: features must have 2 dimension(s), got shape (20,)",
    ),
    (
        "scratch-labels-2d",
        lambda: _scratch(labels=torch.ones(20, 1)),
        ValueError,
        "train_ch7: labels must have 1 dimension(s), got shape (20, 1)",
    ),
    (
        "scratch-labels-dtype",
        lambda: _scratch(labels=_labels.double()),
        TypeError,
        "train_ch7: labels must have the dtype of features (torch.float32), got torch.float64",
    ),
    (
        "scratch-shapes-disagree",
        lambda: _scratch(labels=_labels[:-1]),
        ValueError,
        "train_ch7: features and labels must have the same number of examples, got features of "
        "shape (20, 5) and labels of shape (19,)",
    ),
    (
        "scratch-empty",
        lambda: _scratch(features=torch.ones(0, 5), labels=torch.ones(0)),
        ValueError,
        "train_ch7: features must not be empty, got shape (0, 5)",
    ),
    (
        "scratch-no-features",
        lambda: _scratch(features=torch.ones(20, 0)),
        ValueError,
        "train_ch7: features must not be empty, got shape (20, 0)",
    ),
    (
        "scratch-features-nan",
        lambda: _scratch(features=_with(_features, (3, 2), NAN)),
        ValueError,
        "train_ch7: features must be finite, got nan at index (3, 2)",
    ),
    (
        "scratch-labels-inf",
        lambda: _scratch(labels=_with(_labels, 4, -INF)),
        ValueError,
        "train_ch7: labels must be finite, got -inf at index 4",
    ),
    (
        "scratch-batch-float",
        lambda: _scratch(batch_size=10.0),
        TypeError,
        "train_ch7: batch_size must be an integer, got float 10.0",
    ),
    (
        "scratch-batch-bool",
        lambda: _scratch(batch_size=True),
        TypeError,
        "train_ch7: batch_size must be an integer, got bool True",
    ),
    (
        "scratch-batch-zero",
        lambda: _scratch(batch_size=0),
        ValueError,
        "train_ch7: batch_size must be a positive integer, got 0",
    ),
    (
        "scratch-batch-negative",
        lambda: _scratch(batch_size=-10),
        ValueError,
        "train_ch7: batch_size must be a positive integer, got -10",
    ),
    (
        "scratch-epochs-zero",
        lambda: _scratch(num_epochs=0),
        ValueError,
        "train_ch7: num_epochs must be a positive integer, got 0",
    ),
    (
        "scratch-epochs-float",
        lambda: _scratch(num_epochs=2.5),
        TypeError,
        "train_ch7: num_epochs must be an integer, got float 2.5",
    ),
    (
        "scratch-record-zero",
        lambda: _scratch(record_every=0),
        ValueError,
        "train_ch7: record_every must be a positive integer, got 0",
    ),
    (
        "scratch-record-float",
        lambda: _scratch(record_every=100.0),
        TypeError,
        "train_ch7: record_every must be an integer, got float 100.0",
    ),
    (
        "scratch-seed-negative",
        lambda: _scratch(seed=-1),
        ValueError,
        "train_ch7: seed must be in [0, 18446744073709551615], got -1",
    ),
    (
        "scratch-seed-string",
        lambda: _scratch(seed="0"),
        TypeError,
        "train_ch7: seed must be an integer, got str '0'",
    ),
    (
        "scratch-lr-nan",
        lambda: _scratch(hyperparams={"lr": NAN, "gamma": 0.9}),
        ValueError,
        f"rmsprop: {_lr} must be finite, got nan",
    ),
    (
        "scratch-gamma-1.5",
        lambda: _scratch(hyperparams={"lr": 0.01, "gamma": 1.5}),
        ValueError,
        f"rmsprop: {_gamma} must be in [0, 1], got 1.5",
    ),
    (
        "scratch-states-float64",
        lambda: _scratch(states=[torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1)]),
        ValueError,
        "rmsprop: states[0] must match params[0] (torch.float32, shape (5, 1)), got "
        "torch.float64, shape (5, 1)",
    ),
    # train_pytorch_ch7
    (
        "concise-optimizer-none",
        lambda: _concise(trainer_fn=None),
        TypeError,
        "train_pytorch_ch7: trainer_fn must be callable, got NoneType None",
    ),
    (
        "concise-hyperparams-list",
        lambda: _concise(hyperparams=[0.01]),
        TypeError,
        "train_pytorch_ch7: hyperparams must be a dict, got list [0.01]",
    ),
    (
        "concise-shapes-disagree",
        lambda: _concise(labels=_labels[:-1]),
        ValueError,
        "train_pytorch_ch7: features and labels must have the same number of examples, got "
        "features of shape (20, 5) and labels of shape (19,)",
    ),
    (
        "concise-features-nan",
        lambda: _concise(features=_with(_features, (0, 0), NAN)),
        ValueError,
        "train_pytorch_ch7: features must be finite, got nan at index (0, 0)",
    ),
    (
        "concise-empty",
        lambda: _concise(features=torch.ones(0, 5), labels=torch.ones(0)),
        ValueError,
        "train_pytorch_ch7: features must not be empty, got shape (0, 5)",
    ),
    (
        "concise-batch-float",
        lambda: _concise(batch_size=10.0),
        TypeError,
        "train_pytorch_ch7: batch_size must be an integer, got float 10.0",
    ),
    (
        "concise-epochs-zero",
        lambda: _concise(num_epochs=0),
        ValueError,
        "train_pytorch_ch7: num_epochs must be a positive integer, got 0",
    ),
    (
        "concise-record-zero",
        lambda: _concise(record_every=0),
        ValueError,
        "train_pytorch_ch7: record_every must be a positive integer, got 0",
    ),
    (
        "concise-optimizer-lr",
        lambda: _concise(trainer_fn=rl.RMSprop, hyperparams={"lr": -1.0}),
        ValueError,
        "Invalid learning rate: -1.0",
    ),
    # linreg, squared_loss
    (
        "linreg-X-1d",
        lambda: rl.linreg(torch.ones(5), torch.ones(5, 1), torch.ones(1)),
        ValueError,
        "linreg: X must have 2 dimension(s), got shape (5,)",
    ),
    (
        "linreg-X-int",
        lambda: rl.linreg(torch.ones(3, 5, dtype=torch.int32), torch.ones(5, 1), torch.ones(1)),
        TypeError,
        "linreg: X must have a floating-point dtype, got torch.int32",
    ),
    (
        "linreg-w-rows",
        lambda: rl.linreg(torch.ones(3, 5), torch.ones(4, 1), torch.ones(1)),
        ValueError,
        "linreg: shapes do not agree: X (3, 5), w (4, 1), b (1,) (need X (n, d), "
        "w (d, k), b (1,) or (k,))",
    ),
    (
        "linreg-b-0d",
        lambda: rl.linreg(torch.ones(3, 5), torch.ones(5, 1), torch.tensor(1.0)),
        ValueError,
        "linreg: b must have 1 dimension(s), got shape ()",
    ),
    (
        "linreg-w-list",
        lambda: rl.linreg(torch.ones(3, 5), [[1.0]] * 5, torch.ones(1)),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "linreg: w must be a torch.Tensor, got list [[1.0], [1.0], [1.0], [1.0], [1.0]]",
    ),
    (
        "loss-sizes",
        lambda: rl.squared_loss(torch.ones(3, 1), torch.ones(4)),
        ValueError,
        "squared_loss: y_hat and y must hold the same number of values, got shapes (3, 1) and (4,)",
    ),
    (
        "loss-y-list",
        lambda: rl.squared_loss(torch.ones(1, 1), [1.0]),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "squared_loss: y must be a torch.Tensor, got list [1.0]",
    ),
    # rmsprop_2d, adagrad_2d
    (
        "rms2d-eta-negative",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eta=-0.4),
        ValueError,
        "rmsprop_2d: eta must be >= 0, got -0.4",
    ),
    (
        "rms2d-eta-nan",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eta=NAN),
        ValueError,
        "rmsprop_2d: eta must be finite, got nan",
    ),
    (
        "rms2d-eta-string",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eta="0.4"),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "rmsprop_2d: eta must be a real number, got str '0.4'",
    ),
    (
        "rms2d-gamma-1.5",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, gamma=1.5),
        ValueError,
        "rmsprop_2d: gamma must be in [0, 1], got 1.5",
    ),
    (
        "rms2d-gamma-negative",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, gamma=-0.5),
        ValueError,
        "rmsprop_2d: gamma must be in [0, 1], got -0.5",
    ),
    (
        "rms2d-eps-zero",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eps=0.0),
        ValueError,
        "rmsprop_2d: eps must be > 0, got 0.0",
    ),
    (
        "rms2d-eps-negative",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, eps=-1e-6),
        ValueError,
        "rmsprop_2d: eps must be > 0, got -1e-06",
    ),
    (
        "rms2d-grad-none",
        lambda: rl.rmsprop_2d(-5.0, -2.0, 0.0, 0.0, grad=None),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "rmsprop_2d: grad must be callable, got NoneType None",
    ),
    (
        "rms2d-x1-string",
        lambda: rl.rmsprop_2d("a", -2.0, 0.0, 0.0),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "rmsprop_2d: x1 must be a real number, got str 'a'",
    ),
    (
        "rms2d-s1-negative",
        lambda: rl.rmsprop_2d(-5.0, -2.0, -1.0, 0.0),
        ValueError,
        "rmsprop_2d: s1 must be >= 0 (a sum or average of squares), got -1.0",
    ),
    (
        "ada2d-eta-inf",
        lambda: rl.adagrad_2d(-5.0, -2.0, 0.0, 0.0, eta=INF),
        ValueError,
        "adagrad_2d: eta must be finite, got inf",
    ),
    (
        "ada2d-eps-zero",
        lambda: rl.adagrad_2d(-5.0, -2.0, 0.0, 0.0, eps=0),
        ValueError,
        "adagrad_2d: eps must be > 0, got 0",
    ),
    (
        "ada2d-s2-negative",
        lambda: rl.adagrad_2d(-5.0, -2.0, 0.0, -2.0),
        ValueError,
        "adagrad_2d: s2 must be >= 0 (a sum or average of squares), got -2.0",
    ),
    # train_2d, effective_lr
    (
        "train2d-trainer-none",
        lambda: rl.train_2d(None),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "train_2d: trainer must be callable, got NoneType None",
    ),
    (
        "train2d-steps-negative",
        lambda: rl.train_2d(rl.rmsprop_2d, steps=-1),
        ValueError,
        "train_2d: steps must be an integer >= 0, got -1",
    ),
    (
        "train2d-steps-float",
        lambda: rl.train_2d(rl.rmsprop_2d, steps=20.0),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "train_2d: steps must be an integer, got float 20.0",
    ),
    (
        "train2d-start-short",
        lambda: rl.train_2d(rl.rmsprop_2d, start=(1.0,)),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "train_2d: start must be a pair (x1, x2), got tuple (1.0,)",
    ),
    (
        "train2d-start-string",
        lambda: rl.train_2d(rl.rmsprop_2d, start="ab"),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "train_2d: start must be a pair (x1, x2), got str 'ab'",
    ),
    (
        "train2d-start-nan",
        lambda: rl.train_2d(rl.rmsprop_2d, start=(NAN, 0.0)),
        ValueError,
        "train_2d: start[0] must be finite, got nan",
    ),
    (
        "train2d-eta-negative",
        lambda: rl.train_2d(partial(rl.rmsprop_2d, eta=-1.0)),
        ValueError,
        "rmsprop_2d: eta must be >= 0, got -1.0",
    ),
    (
        "efflr-trace-list",
        lambda: rl.effective_lr([], eta=0.4),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "effective_lr: trace must be a Trace2D, got list []",
    ),
    (
        "efflr-eta-negative",
        lambda: rl.effective_lr(_trace, eta=-0.4),
        ValueError,
        "effective_lr: eta must be >= 0, got -0.4",
    ),
    (
        "efflr-eps-zero",
        lambda: rl.effective_lr(_trace, eta=0.4, eps=0.0),
        ValueError,
        "effective_lr: eps must be > 0, got 0.0",
    ),
    # reporting
    (
        "format-trace-list",
        lambda: rl.format_trace([(0.0, 0.0)]),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "format_trace: trace must be a Trace2D, got list [(0.0, 0.0)]",
    ),
    (
        "format-trace-empty",
        lambda: rl.format_trace(rl.Trace2D()),
        ValueError,
        "format_trace: trace has no points",
    ),
    (
        "format-result-none",
        lambda: rl.format_result(None),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "format_result: result must be a TrainResult, got NoneType None",
    ),
    (
        "format-result-no-epoch",
        lambda: rl.format_result(rl.TrainResult([0.5], [0.0], [])),
        ValueError,
        "format_result: result needs at least one loss and one epoch, got 1 losses "
        "and 0 epoch times",
    ),
    # plotting: the data arguments
    (
        "trace-plot-f-none",
        lambda: rl.show_trace_2d(None, _trace),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "show_trace_2d: f must be callable, got NoneType None",
    ),
    (
        "trace-plot-trace-list",
        lambda: rl.show_trace_2d(rl.f_2d, [(0.0, 0.0)]),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "show_trace_2d: trace must be a Trace2D, got list [(0.0, 0.0)]",
    ),
    (
        "trace-plot-empty",
        lambda: rl.show_trace_2d(rl.f_2d, rl.Trace2D()),
        ValueError,
        "show_trace_2d: trace has no points",
    ),
    (
        "trace-plot-step-zero",
        lambda: rl.show_trace_2d(rl.f_2d, _trace, step=0),
        ValueError,
        "show_trace_2d: step must be > 0, got 0",
    ),
    (
        "trace-plot-xlim-reversed",
        lambda: rl.show_trace_2d(rl.f_2d, _trace, xlim=(1.0, -5.5)),
        ValueError,
        "show_trace_2d: xlim must be (low, high) with low < high, got (1.0, -5.5)",
    ),
    (
        "trace-plot-grid-huge",
        lambda: rl.show_trace_2d(rl.f_2d, _trace, step=1e-6),
        ValueError,
        "show_trace_2d: xlim / step gives more than 10000 grid points per axis, got "
        "xlim=(-5.5, 1.0), step=1e-06",
    ),
    (
        "trace-plot-ax-string",
        lambda: rl.show_trace_2d(rl.f_2d, _trace, ax="left"),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "show_trace_2d: ax must be a matplotlib Axes or None, got str 'left'",
    ),
    (
        "losses-plot-none",
        lambda: rl.plot_losses(None),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "plot_losses: result must be a TrainResult, got NoneType None",
    ),
    (
        "losses-plot-lengths",
        lambda: rl.plot_losses(rl.TrainResult([0.5, 0.4], [0.0], [0.1])),
        ValueError,
        "plot_losses: result must have as many losses as epochs (at least one), got "
        "2 losses and 1 epochs",
    ),
    (
        "ema-plot-gamma-one",
        lambda: rl.plot_ema_weights(gammas=(0.9, 1.0)),
        ValueError,
        "plot_ema_weights: gammas[1] must be in [0, 1), got 1.0",
    ),
    (
        "ema-plot-empty",
        lambda: rl.plot_ema_weights(gammas=()),
        ValueError,
        "plot_ema_weights: gammas must not be empty",
    ),
    (
        "ema-plot-scalar",
        lambda: rl.plot_ema_weights(gammas=0.9),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "plot_ema_weights: gammas must be a sequence of numbers, got float 0.9",
    ),
    (
        "ema-plot-steps-zero",
        lambda: rl.plot_ema_weights(steps=0),
        ValueError,
        "plot_ema_weights: steps must be a positive integer, got 0",
    ),
    (
        "efflr-plot-empty",
        lambda: rl.plot_effective_lr({}),
        ValueError,
        "plot_effective_lr: series must not be empty",
    ),
    (
        "efflr-plot-list",
        lambda: rl.plot_effective_lr([[0.1]]),  # type: ignore[arg-type]  # deliberately wrong type
        TypeError,
        "plot_effective_lr: series must be a dict of label -> values, got list [[0.1]]",
    ),
    (
        "efflr-plot-zero",
        lambda: rl.plot_effective_lr({"a": [1.0, 0.0]}),
        ValueError,
        "plot_effective_lr: series['a'][1] must be > 0, got 0.0",
    ),
    (
        "efflr-plot-nan",
        lambda: rl.plot_effective_lr({"a": [NAN]}),
        ValueError,
        "plot_effective_lr: series['a'][0] must be finite, got nan",
    ),
    (
        "grid-plot-no-lrs",
        lambda: _grid(lrs=()),
        ValueError,
        "plot_final_loss_grid: lrs must not be empty",
    ),
    (
        "grid-plot-gamma-2",
        lambda: _grid(gammas=(0.9, 2.0)),
        ValueError,
        "plot_final_loss_grid: gammas[1] must be in [0, 1], got 2.0",
    ),
    (
        "grid-plot-shape",
        lambda: _grid(losses=[[0.3, 0.25, 0.4]]),
        ValueError,
        "plot_final_loss_grid: losses must be 2 rows (one per gamma) of 3 values (one per lr)",
    ),
    (
        "grid-plot-zero-loss",
        lambda: _grid(losses=[[0.3, 0.0, 0.4], [0.3, 0.2, 0.5]]),
        ValueError,
        "plot_final_loss_grid: losses[0][1] must be > 0 for the log colour scale (or inf/NaN for "
        "a diverged run), got 0.0",
    ),
    (
        "grid-plot-string-loss",
        lambda: _grid(losses=[[0.3, 0.2, "x"], [0.3, 0.2, 0.5]]),
        TypeError,
        "plot_final_loss_grid: losses[0][2] must be a real number, got str 'x'",
    ),
]


@pytest.mark.parametrize(
    "call, error, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_argument_gets_one_clear_error(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert type(raised.value) is error
    assert str(raised.value) == message


def test_every_public_chapter_function_has_validation_cases():
    called = {case[0].split("-")[0] for case in CASES}
    prefixes = {
        "rmsprop",
        "init",
        "scratch",
        "concise",
        "linreg",
        "loss",
        "rms2d",
        "ada2d",
        "train2d",
        "efflr",
        "format",
        "trace",
        "losses",
        "ema",
        "grid",
    }
    assert prefixes <= called


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5])
def test_the_boundaries_of_gamma_are_accepted_and_step(value):
    params = _params()
    before = params[0].detach().clone()
    rl.rmsprop(params, list(rl.init_rmsprop_states()), {"lr": 0.01, "gamma": value})
    assert not torch.equal(params[0].detach(), before)


def test_lr_zero_is_accepted_and_changes_nothing():
    params = _params()
    before = [p.detach().clone() for p in params]
    rl.rmsprop(params, list(rl.init_rmsprop_states()), {"lr": 0, "gamma": 0.9})
    assert all(torch.equal(p.detach(), q) for p, q in zip(params, before))


def test_rmsprop_2d_lets_a_diverging_run_continue():
    # eta = 0.4 with gamma = 1: s stays 0, each step multiplies x2 by -1599; after 100 steps x2
    # overflows. The steps go on without an error: divergence is a result, not bad input.
    trace = rl.train_2d(partial(rl.rmsprop_2d, eta=0.4, gamma=1.0), steps=120)
    assert not math.isfinite(trace.points[-1][1])
