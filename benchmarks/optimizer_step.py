"""Time one RMSprop step: our loop, foreach and fused against torch.optim.RMSprop.

Interleaved in one run, medians over repetitions, float32. For each size and
configuration it prints ms/step, the effective bandwidth (the bytes the update must move,
divided by the time), the speed-up over torch's default, and the ratio to the memory
floor, which is measured in the same run: a plain element-wise pass (``a.add_(b)``,
12 bytes per element) gives the machine's bandwidth, and the floor of a step is the
bytes it must move at that bandwidth (20 bytes per element for the plain update: read
θ, g, v and write θ, v; 36 with centered and momentum). Also the extra memory a step
allocates, sampled from the process's resident set.

    python benchmarks/optimizer_step.py [--sizes 1e6 1e7 2.5e7] [--reps 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import torch

from _machine import machine
from rmsprop_lib import RMSprop, fused

CONFIGS = {"plain": {}, "centered+momentum": {"centered": True, "momentum": 0.9}}
BYTES_PER_ELEMENT = {"plain": 20, "centered+momentum": 36}  # float32, minimal traffic
IMPLEMENTATIONS = {
    "torch default": lambda p, c: torch.optim.RMSprop(p, **c),
    "torch foreach": lambda p, c: torch.optim.RMSprop(p, foreach=True, **c),
    "ours loop": lambda p, c: RMSprop(p, foreach=False, **c),
    "ours foreach": lambda p, c: RMSprop(p, foreach=True, **c),
    "ours fused": lambda p, c: RMSprop(p, fused=True, **c),
}
PAGE = 4096


class RssPeak:
    """Peak resident memory above the level at entry, sampled every ~0.2 ms."""

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.0002)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def bench_size(n: int, config_name: str, reps: int) -> list[dict]:
    config = CONFIGS[config_name]
    g = torch.Generator().manual_seed(0)
    start, grad = torch.randn(n, generator=g), torch.randn(n, generator=g)
    runs = {}
    for name, make in IMPLEMENTATIONS.items():
        param = start.clone().requires_grad_()
        param.grad = grad.clone()
        optimizer = make([param], config)
        first = time.perf_counter()
        optimizer.step()  # creates the state; for fused, also loads the kernel
        runs[name] = {"opt": optimizer, "times": [], "first_ms": (time.perf_counter() - first) * 1e3}
    a, b = torch.randn(n, generator=g), torch.randn(n, generator=g)
    floor_times = []
    for _ in range(reps):  # interleaved: every implementation sees the same machine state
        t0 = time.perf_counter()
        a.add_(b)
        floor_times.append(time.perf_counter() - t0)
        for run in runs.values():
            t0 = time.perf_counter()
            run["opt"].step()
            run["times"].append(time.perf_counter() - t0)
    bandwidth = 12 * n / statistics.median(floor_times)  # bytes per second, float32
    floor_ms = BYTES_PER_ELEMENT[config_name] * n / bandwidth * 1e3
    reference = statistics.median(runs["torch default"]["times"])
    rows = []
    for name, run in runs.items():
        with RssPeak() as peak:
            run["opt"].step()
        median = statistics.median(run["times"])
        rows.append({
            "size": n, "config": config_name, "implementation": name,
            "ms_per_step": median * 1e3,
            "first_step_ms": run["first_ms"],
            "effective_gb_s": BYTES_PER_ELEMENT[config_name] * n / median / 1e9,
            "speedup_vs_torch_default": reference / median,
            "ratio_to_floor": median * 1e3 / floor_ms,
            "floor_ms": floor_ms,
            "extra_memory_mb": peak.extra_mb,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7, 2.5e7])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name("results") / "optimizer_step.json")
    args = parser.parse_args()

    fused.load_kernel()
    rows = []
    header = f"{'size':>6} {'config':<18} {'implementation':<14} {'ms/step':>8} {'GB/s':>6} " \
             f"{'vs torch':>8} {'vs floor':>8} {'+MB':>6}"
    print(header)
    for n in (int(s) for s in args.sizes):
        for config_name in CONFIGS:
            for row in bench_size(n, config_name, args.reps):
                rows.append(row)
                print(f"{n / 1e6:>5g}M {config_name:<18} {row['implementation']:<14} "
                      f"{row['ms_per_step']:8.2f} {row['effective_gb_s']:6.1f} "
                      f"{row['speedup_vs_torch_default']:7.2f}x {row['ratio_to_floor']:7.2f}x "
                      f"{row['extra_memory_mb']:6.0f}")
    info = fused.build_info()
    print(f"fused kernel: {'reused from ' if info['cached'] else 'built into '}{info['path']} "
          f"in {info['seconds']:.2f} s")
    result = {"machine": machine(), "reps": args.reps, "dtype": "float32",
              "kernel_build": info, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
