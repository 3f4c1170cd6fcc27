"""Time one RMSprop step: our loop, foreach and fused against torch.optim.RMSprop.

Interleaved in one run, medians over repetitions, float32, for each case and configuration
(plain; centered+momentum). Cases: one tensor of each ``--sizes`` elements; 1000 parameters
of 16 values (where the per-tensor overhead shows); the 161 parameter shapes of ResNet-50
(25.6M values, a real model's list). For each it prints ms/step, the effective bandwidth
(the bytes the update must move, divided by the time), the speed-up over torch's default,
the fused step's time relative to ``torch.optim.RMSprop(foreach=True)``, the time per
tensor, and the ratio to the memory floor, which is measured in the same run: the fastest
of a plain element-wise pass (``a.add_(b)`` over as many elements as the case, 12 bytes per
element), timed once per repetition, gives the machine's bandwidth, and the floor of a step
is the bytes it must move at that bandwidth (20 bytes per element for the plain update: read
θ, g, v and write θ, v; 36 with centered and momentum). The fastest pass, not the median:
what the step before left in the caches makes single passes fast or slow, and the floor is
the best the machine showed. Also the extra memory a step allocates, sampled from the
process's resident set.

Beside them, the peer a PyTorch user would reach for: ``torch.compile`` around
``torch.optim.RMSprop(foreach=True).step()`` ("torch compile"), its steady-state step and its
first call, which compiles (with a fresh, empty inductor cache, so that the compile time is
what a first run pays). Compiling takes minutes on a small machine, so it runs only for the
cases of ``--compiled`` (default: the two models) in the configurations of
``--compiled-configs`` (default: plain); ``--compiled`` with no case skips it.

    python benchmarks/optimizer_step.py [--sizes 1e6 1e7 2.5e7] [--models 1000x16 resnet50]
                                        [--compiled 1000x16 resnet50] [--compiled-configs plain]
                                        [--reps 15] [--out FILE]

:func:`optimizer_step_table` and :func:`compiled_peer_table` turn the results file into the
tables of the performance page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from _machine import machine
from rmsprop_lib import RMSprop, fused

CONFIGS = {"plain": {}, "centered+momentum": {"centered": True, "momentum": 0.9}}
BYTES_PER_ELEMENT = {"plain": 20, "centered+momentum": 36}  # float32, minimal traffic
IMPLEMENTATIONS: dict[str, Callable] = {
    "torch default": lambda p, c: torch.optim.RMSprop(p, **c),
    "torch foreach": lambda p, c: torch.optim.RMSprop(p, foreach=True, **c),
    "ours loop": lambda p, c: RMSprop(p, foreach=False, **c),
    "ours foreach": lambda p, c: RMSprop(p, foreach=True, **c),
    "ours fused": lambda p, c: RMSprop(p, fused=True, **c),
}
COMPILED = "torch compile"
PAGE = 4096
# What build_info() may publish: not the kernel's path, which names a directory of this machine.
PUBLISHED_BUILD_INFO = ("openmp", "source_sha256")


class CompiledStep:
    """``torch.optim.RMSprop(foreach=True)`` whose ``step`` runs through ``torch.compile``
    (as PyTorch's tutorial on compiling the optimizer does); the first call compiles."""

    def __init__(self, params: list[torch.Tensor], config: dict) -> None:
        self.optimizer = torch.optim.RMSprop(params, foreach=True, **config)
        self._step = torch.compile(self.optimizer.step)

    def step(self) -> None:
        self._step()


def resnet50_shapes() -> list[tuple[int, ...]]:
    """The 161 parameter shapes of torchvision's ResNet-50, in ``model.parameters()`` order.

    A 7×7 stem, then bottleneck blocks (1×1, 3×3, 1×1 convolutions, each followed by a
    batch norm's weight and bias) in four stages of 3, 4, 6 and 3 blocks, the first block of
    each stage with a 1×1 projection shortcut, and a 2048→1000 classifier: 25,557,032 values.
    """
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    inplanes = 64
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(blocks):
            shapes += [
                (planes, inplanes, 1, 1),
                (planes,),
                (planes,),
                (planes, planes, 3, 3),
                (planes,),
                (planes,),
                (planes * 4, planes, 1, 1),
                (planes * 4,),
                (planes * 4,),
            ]
            if block == 0:
                shapes += [(planes * 4, inplanes, 1, 1), (planes * 4,), (planes * 4,)]
            inplanes = planes * 4
    return [*shapes, (1000, 2048), (1000,)]


MODELS: dict[str, Callable[[], list[tuple[int, ...]]]] = {
    "1000x16": lambda: [(16,)] * 1000,
    "resnet50": resnet50_shapes,
}


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


def bench_case(
    case: str,
    shapes: Sequence[tuple[int, ...]],
    config_name: str,
    reps: int,
    compiled: bool = False,
) -> list[dict]:
    """One row per implementation for ``shapes`` under ``config_name`` (and one for the
    compiled peer when ``compiled``)."""
    config = CONFIGS[config_name]
    g = torch.Generator().manual_seed(0)
    start = [torch.randn(shape, generator=g) for shape in shapes]
    grads = [torch.randn(shape, generator=g) for shape in shapes]
    n = sum(p.numel() for p in start)
    runs = {}
    implementations: dict[str, Callable] = dict(IMPLEMENTATIONS)
    if compiled:
        implementations[COMPILED] = CompiledStep
    for name, make in implementations.items():
        params = [p.clone().requires_grad_() for p in start]
        for p, grad in zip(params, grads):
            p.grad = grad.clone()
        optimizer = make(params, config)
        first = time.perf_counter()
        optimizer.step()  # creates the state (and compiles, for the compiled peer)
        if name == COMPILED:
            print(
                f"  {case} {config_name}: the first compiled call took "
                f"{time.perf_counter() - first:.0f} s",
                flush=True,
            )
        runs[name] = {
            "opt": optimizer,
            "times": [],
            "first_ms": (time.perf_counter() - first) * 1e3,
        }
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
    bandwidth = 12 * n / min(floor_times)  # bytes per second, float32: the best it showed
    floor_ms = BYTES_PER_ELEMENT[config_name] * n / bandwidth * 1e3
    reference = statistics.median(runs["torch default"]["times"])
    foreach = statistics.median(runs["torch foreach"]["times"])
    rows = []
    for name, run in runs.items():
        with RssPeak() as peak:
            run["opt"].step()
        median = statistics.median(run["times"])
        rows.append(
            {
                "case": case,
                "tensors": len(shapes),
                "size": n,
                "config": config_name,
                "implementation": name,
                "ms_per_step": median * 1e3,
                "first_step_ms": run["first_ms"],
                "effective_gb_s": BYTES_PER_ELEMENT[config_name] * n / median / 1e9,
                "speedup_vs_torch_default": reference / median,
                "ratio_to_torch_foreach": median / foreach,
                "ratio_to_floor": median * 1e3 / floor_ms,
                "floor_ms": floor_ms,
                "us_per_tensor": median * 1e6 / len(shapes),
                "extra_memory_mb": peak.extra_mb,
            }
        )
    return rows


def published_build_info(info: dict) -> dict:
    """:func:`rmsprop_lib.fused.build_info` without what names this machine's files."""
    return {key: info[key] for key in PUBLISHED_BUILD_INFO if key in info}


def case_label(row: dict) -> str:
    """How a case is named in the table: ``"25M"``, ``"1000×16"``, ``"ResNet-50"``."""
    if row["case"] == "resnet50":
        return "ResNet-50"
    if row["case"] == "1000x16":
        return "1000×16"
    return f"{row['size'] / 1e6:g}M"


TABLE_COLUMNS = ["torch default", "torch foreach", "ours loop", "ours foreach", "ours fused"]
COMPILED_HEADER = [
    "用例",
    "配置",
    "torch.compile ms",
    "首次调用 s",
    "本库 fused ms",
    "fused÷compile",
    "compile÷下限",
]
TABLE_HEADER = [
    "用例",
    "张量数",
    "配置",
    "torch",
    "torch foreach",
    "本库 loop",
    "本库 foreach",
    "本库 fused",
    "fused÷torch foreach",
    "fused÷下限",
    "fused 每张量 µs",
    "额外内存 MB",
]


def optimizer_step_table(results: dict) -> str:
    """The results file as a Markdown table: one row per case and configuration.

    Times are ms per step; "fused÷torch foreach" and "fused÷下限" are the fused step's time
    over ``torch.optim.RMSprop(foreach=True)``'s and over the memory floor; the time per
    tensor is shown for lists of tensors ("—" for one tensor); the extra memory is torch's
    default → ours fused.
    """
    by_case: dict[tuple, dict[str, dict]] = {}
    for row in results["rows"]:
        by_case.setdefault((row["case"], row["config"]), {})[row["implementation"]] = row
    lines = [
        "| " + " | ".join(TABLE_HEADER) + " |",
        "| --- | ---: | --- |" + " ---: |" * (len(TABLE_HEADER) - 3),
    ]
    for (_, config), by in by_case.items():
        missing = [name for name in TABLE_COLUMNS if name not in by]
        if missing:
            raise ValueError(f"results file: case {config!r} lacks the implementations {missing}")
        fused_row, first = by["ours fused"], by["torch default"]
        times = " | ".join(f"{by[name]['ms_per_step']:.2f}" for name in TABLE_COLUMNS)
        per_tensor = f"{fused_row['us_per_tensor']:.2f}" if first["tensors"] > 1 else "—"
        lines.append(
            f"| {case_label(first)} | {first['tensors']} | {config} | {times} "
            f"| {fused_row['ratio_to_torch_foreach']:.2f}× | {fused_row['ratio_to_floor']:.2f}× "
            f"| {per_tensor} "
            f"| {first['extra_memory_mb']:.0f} → {fused_row['extra_memory_mb']:.0f} |"
        )
    return "\n".join(lines)


def compiled_peer_table(results: dict) -> str:
    """The compiled peer's rows as a Markdown table: its step and first call beside ours.

    Raises:
        ValueError: when the results file has no compiled rows (run without ``--compiled``).
    """
    by_case: dict[tuple, dict[str, dict]] = {}
    for row in results["rows"]:
        by_case.setdefault((row["case"], row["config"]), {})[row["implementation"]] = row
    lines = [
        "| " + " | ".join(COMPILED_HEADER) + " |",
        "| --- | --- |" + " ---: |" * (len(COMPILED_HEADER) - 2),
    ]
    for (_, config), by in by_case.items():
        if COMPILED not in by:
            continue
        peer, ours = by[COMPILED], by["ours fused"]
        lines.append(
            f"| {case_label(peer)} | {config} | {peer['ms_per_step']:.2f} "
            f"| {peer['first_step_ms'] / 1e3:.0f} | {ours['ms_per_step']:.2f} "
            f"| {ours['ms_per_step'] / peer['ms_per_step']:.2f}× | {peer['ratio_to_floor']:.2f}× |"
        )
    if len(lines) == 2:
        raise ValueError("results file: no torch.compile rows (the benchmark ran without them)")
    return "\n".join(lines)


def machine_line(results: dict) -> str:
    """One line saying where and when the results were measured."""
    m = results["machine"]
    return (
        f"机器：{m['cpu']}，{m['cores']} 核；PyTorch {m['torch']}；测于 {m['date']}，"
        f"每项重复 {results['reps']} 次"
    )


def load_results(path: Path | str) -> dict:
    """The results file written by this script."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="*", default=[1e6, 1e7, 2.5e7])
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    parser.add_argument(
        "--compiled",
        nargs="*",
        choices=list(MODELS),
        default=list(MODELS),
        help="cases (models) that also time torch.compile'd torch.optim.RMSprop; none: skip it",
    )
    parser.add_argument(
        "--compiled-configs",
        nargs="*",
        choices=list(CONFIGS),
        default=["plain"],
        help="configurations in which the compiled peer runs",
    )
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results") / "optimizer_step.json"
    )
    args = parser.parse_args()

    fused.load_kernel()
    # A fresh inductor cache: the first compiled call pays what a first run pays.
    inductor_cache = tempfile.TemporaryDirectory(prefix="inductor-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = inductor_cache.name
    cases = [(f"{int(s)}", [(int(s),)]) for s in args.sizes] + [
        (name, MODELS[name]()) for name in args.models
    ]
    rows = []
    print(
        f"{'case':>9} {'config':<18} {'implementation':<14} {'ms/step':>8} {'GB/s':>6} "
        f"{'vs torch':>8} {'/foreach':>8} {'vs floor':>8} {'us/tensor':>9} {'+MB':>6}"
    )
    for case, shapes in cases:
        for config_name in CONFIGS:
            compiled = case in args.compiled and config_name in args.compiled_configs
            for row in bench_case(case, shapes, config_name, args.reps, compiled):
                rows.append(row)
                print(
                    f"{case_label(row):>9} {config_name:<18} {row['implementation']:<14} "
                    f"{row['ms_per_step']:8.2f} {row['effective_gb_s']:6.1f} "
                    f"{row['speedup_vs_torch_default']:7.2f}x "
                    f"{row['ratio_to_torch_foreach']:7.2f}x "
                    f"{row['ratio_to_floor']:7.2f}x {row['us_per_tensor']:9.2f} "
                    f"{row['extra_memory_mb']:6.0f}"
                )
    info = fused.build_info()
    print(f"fused kernel: built with the package, OpenMP {'on' if info['openmp'] else 'off'}")
    inductor_cache.cleanup()
    result = {
        "machine": machine(),
        "reps": args.reps,
        "dtype": "float32",
        "kernel_build": published_build_info(info),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
