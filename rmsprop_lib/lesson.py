"""The chapter's code as the page shows it: a few plain lines with short Chinese comments.

The chapter page shows these functions with ``literalinclude``. They check nothing: the
public names (:func:`rmsprop_lib.rmsprop`, :func:`rmsprop_lib.train_ch7`,
:func:`rmsprop_lib.train_pytorch_ch7`, ...) check their arguments and then call the function
of the same name here, so the code a reader sees is the code that runs. ``get_data_ch7`` is
the chapter's recipe; :func:`rmsprop_lib.get_data_ch7` follows it after checking the file,
and a test proves the two equal.
"""

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .data import load_airfoil

__all__ = [
    "Trace2D",
    "TrainResult",
    "adagrad_2d",
    "data_iter",
    "get_data_ch7",
    "init_rmsprop_states",
    "linreg",
    "rmsprop",
    "rmsprop_2d",
    "squared_loss",
    "train_2d",
    "train_ch7",
    "train_pytorch_ch7",
]


@dataclass
class Trace2D:
    """The points visited (start included) and the state after each step."""

    points: list[tuple[float, float]] = field(default_factory=list)
    states: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class TrainResult:
    """Loss history and timing of one training run.

    ``losses[0]`` is the full-data loss before training, then one value after every
    ``record_every`` examples; ``epochs[i]`` is where ``losses[i]`` was taken, in epochs;
    ``epoch_times`` is the wall time of each epoch in seconds.
    """

    losses: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    epoch_times: list[float] = field(default_factory=list)


def rmsprop_2d(x1, x2, s1, s2, eta, gamma, grad, eps=1e-6):
    g1, g2 = grad(x1, x2)
    s1 = gamma * s1 + (1 - gamma) * g1 * g1  # 两个坐标各有自己的状态
    s2 = gamma * s2 + (1 - gamma) * g2 * g2
    x1 -= eta / math.sqrt(s1 + eps) * g1
    x2 -= eta / math.sqrt(s2 + eps) * g2
    return x1, x2, s1, s2


def adagrad_2d(x1, x2, s1, s2, eta, grad, eps=1e-6):
    g1, g2 = grad(x1, x2)
    s1 += g1 * g1  # 与 rmsprop_2d 唯一的区别：累加，而不是移动平均
    s2 += g2 * g2
    x1 -= eta / math.sqrt(s1 + eps) * g1
    x2 -= eta / math.sqrt(s2 + eps) * g2
    return x1, x2, s1, s2


def train_2d(trainer, steps=20, start=(-5.0, -2.0)):
    x1, x2 = start
    s1 = s2 = 0.0  # 状态从 0 开始
    trace = Trace2D(points=[(x1, x2)])
    for _ in range(steps):
        x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        trace.points.append((x1, x2))  # 记下经过的每一个点
        trace.states.append((s1, s2))
    return trace


def get_data_ch7():
    data = load_airfoil()  # 1503 行、6 列的 float64 张量
    # 用全部 1503 行的均值和（总体）标准差把每一列标准化
    data = (data - data.mean(dim=0)) / data.std(dim=0, correction=0)
    data = data[:1500].to(torch.float32)  # 只取前 1500 个样本
    return data[:, :-1], data[:, -1]  # 前 5 列是特征，最后一列是标签


def linreg(X, w, b):
    return X @ w + b  # 线性回归模型


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2  # 每个样本的平方损失


def init_rmsprop_states(num_features=5):
    s_w = torch.zeros((num_features, 1))  # 与 w 形状相同
    s_b = torch.zeros(1)  # 与 b 形状相同
    return (s_w, s_b)


def rmsprop(params, states, hyperparams):
    gamma, eps = hyperparams["gamma"], 1e-6
    with torch.no_grad():
        for p, s in zip(params, states):
            # 梯度平方的指数加权移动平均
            s[:] = gamma * s + (1 - gamma) * p.grad**2
            # 每个元素的学习率按 sqrt(s + eps) 缩放
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)


def data_iter(features, labels, batch_size, generator):
    # 打乱样本的顺序，再按 batch_size 切成小批量（最后一批可能小一些）
    order = torch.randperm(len(labels), generator=generator)
    for idx in order.split(batch_size):
        yield features[idx], labels[idx]


# The formatter would put each parameter on its own line; the page shows two short lines.
# fmt: off
def train_ch7(trainer_fn, states, hyperparams, features, labels,
              batch_size=10, num_epochs=2, seed=0, record_every=100):
    n, d = features.shape
    gen = torch.Generator().manual_seed(seed)  # 初始权重和样本顺序都来自它
    w = torch.randn(d, 1, generator=gen, dtype=features.dtype) * 0.01
    w.requires_grad_()
    b = torch.zeros(1, dtype=features.dtype, requires_grad=True)

    def evaluate():  # 全部数据上的平均损失
        with torch.no_grad():
            return squared_loss(linreg(features, w, b), labels).mean().item()

    result = TrainResult([evaluate()], [0.0])
    for epoch in range(num_epochs):
        start, seen = time.perf_counter(), 0
        for X, y in data_iter(features, labels, batch_size, gen):
            loss = squared_loss(linreg(X, w, b), y).mean()
            w.grad = b.grad = None  # 清掉上一步的梯度
            loss.backward()
            trainer_fn([w, b], states, hyperparams)  # 更新 w 和 b
            seen += len(y)
            if seen % record_every == 0:  # 每处理 100 个样本记录一次
                result.losses.append(evaluate())
                result.epochs.append(epoch + seen / n)
        result.epoch_times.append(time.perf_counter() - start)
    return result


def train_pytorch_ch7(trainer_fn, hyperparams, features, labels,
                      batch_size=10, num_epochs=2, seed=0, record_every=100):
    n, d = features.shape
    gen = torch.Generator().manual_seed(seed)
    net = nn.Linear(d, 1, dtype=features.dtype)
    with torch.no_grad():  # 与 train_ch7 相同的初始权重
        w = torch.randn(d, 1, generator=gen, dtype=features.dtype) * 0.01
        net.weight[:] = w.T
        net.bias.zero_()
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    mse = nn.MSELoss()  # 均方误差，是平方损失均值的 2 倍

    def evaluate():
        with torch.no_grad():
            return (mse(net(features).reshape(-1), labels) / 2).item()

    result = TrainResult([evaluate()], [0.0])
    for epoch in range(num_epochs):
        start, seen = time.perf_counter(), 0
        for X, y in data_iter(features, labels, batch_size, gen):
            loss = mse(net(X).reshape(-1), y) / 2
            optimizer.zero_grad()  # 清掉上一步的梯度
            loss.backward()  # 反向传播，求出梯度
            optimizer.step()  # 由优化器更新参数
            seen += len(y)
            if seen % record_every == 0:
                result.losses.append(evaluate())
                result.epochs.append(epoch + seen / n)
        result.epoch_times.append(time.perf_counter() - start)
    return result


# fmt: on
