"""The chapter's training loop, ours against the original's DataLoader loop, side by side.

Both train the same linear regression with the same RMSProp update for 2 epochs of
shuffled minibatches of 10 with autograd, recording the full-data loss every 100
examples; they differ in how minibatches are drawn: the original iterates a
``torch.utils.data.DataLoader`` over a ``TensorDataset``, ours indexes the tensors with
slices of one ``torch.randperm`` per epoch. Interleaved runs, median seconds per epoch.

    python benchmarks/training_loop.py [--reps 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rmsprop_lib import get_data_ch7, init_rmsprop_states, linreg, rmsprop, squared_loss, train_ch7


def original_loop(features, labels, hyperparams, batch_size=10, num_epochs=2):
    """The original chapter's loop (DataLoader), kept here only as the reference."""
    w = torch.nn.Parameter(torch.normal(0, 0.01, size=(features.shape[1], 1)))
    b = torch.nn.Parameter(torch.zeros(1))
    states = init_rmsprop_states()
    losses = [squared_loss(linreg(features, w, b), labels).mean().item()]
    data_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(features, labels), batch_size, shuffle=True
    )
    times = []
    for _ in range(num_epochs):
        start = time.perf_counter()
        for batch_i, (X, y) in enumerate(data_iter):
            loss = squared_loss(linreg(X, w, b), y).mean()
            for p in (w, b):
                if p.grad is not None:
                    p.grad.zero_()
            loss.backward()
            rmsprop([w, b], states, hyperparams)
            if (batch_i + 1) * batch_size % 100 == 0:
                losses.append(squared_loss(linreg(features, w, b), labels).mean().item())
        times.append(time.perf_counter() - start)
    return losses, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    features, labels = get_data_ch7()
    hyperparams = {"lr": 0.01, "gamma": 0.9}
    ours, original = [], []
    for rep in range(args.reps):
        torch.manual_seed(rep)
        _, times = original_loop(features, labels, hyperparams)
        original.extend(times)
        result = train_ch7(rmsprop, init_rmsprop_states(), hyperparams, features, labels, seed=rep)
        ours.extend(result.epoch_times)
    o, m = statistics.median(original), statistics.median(ours)
    print(f"original DataLoader loop: {o * 1e3:7.1f} ms per epoch (median of {len(original)})")
    print(f"rmsprop_lib.train_ch7:    {m * 1e3:7.1f} ms per epoch (median of {len(ours)})")
    print(f"ours / original:          {m / o:7.2f}x  (target <= 1)")


if __name__ == "__main__":
    main()
