"""rmsprop_lib.RMSprop beyond one process (CPU, gloo): DDP, ZeroRedundancyOptimizer, FSDP2,
parameters sharded as DTensors, torch.distributed.checkpoint, and fused=True refusing DTensors.

Two worker processes (``dist_workers.py``) run every scenario once, for the whole module,
and return their results as files; the tests compare them with single-process runs computed
here, without torch.distributed, by ``torch.optim.RMSprop`` and by ``rmsprop_lib.RMSprop``.
Starting processes that import torch costs seconds on a small machine, so all scenarios
share one launch; a scenario that fails or crashes fails its own tests (with the traceback,
or the worker's exit code or signal and its log), and the scenarios that did not run yet get
fresh processes.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

import dist_workers as dw
from rmsprop_lib import RMSprop

# One launch of the workers serves the whole module (``runs``): its tests run together.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("dist_workers.py")
LAUNCH_TIMEOUT = 300  # seconds for one launch of all scenarios (a loaded 2-core machine)
GRACE = 20  # seconds the other ranks get to finish after one rank died
# torch's tolerance for float32 (that of its own test_RMSprop_1d_sharding), used where the
# gradients themselves come from different reduction orders.
F32: dict[str, Any] = dict(rtol=1.3e-6, atol=1e-5)

# Which scenario the tests read, by test name prefix (the DTensor tests by their ``variant``).
TEST_SCENARIO = {
    "test_ddp_": "ddp",
    "test_zero_": "zero",
    "test_dcp_": "dcp",
    "test_fsdp_": "fsdp",
    "test_fused_": "fused_dtensor",
}


# --- running the workers ------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one scenario: per-rank results, or why there are none."""

    name: str
    results: list | None = None
    failure: str | None = None

    def get(self) -> list:
        if self.failure is not None:
            pytest.fail(
                f"scenario {self.name!r} failed in the workers:\n{self.failure}", pytrace=False
            )
        assert self.results is not None, f"scenario {self.name!r}: neither results nor a failure"
        return self.results


@dataclass
class Launch:
    out: Path
    procs: list = field(default_factory=list)
    timed_out: bool = False

    def log(self, rank: int) -> str:
        text = (self.out / f"rank{rank}.log").read_text(errors="replace")
        return text[-4000:]

    def exit_status(self, rank: int) -> str:
        code = self.procs[rank].returncode
        if code is None:
            return "still running when killed"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name} (exit code {code})"
        return f"exit code {code}"


def _start(names: list[str], out: Path, env: dict) -> Launch:
    out.mkdir(parents=True)
    launch = Launch(out)
    # The rendezvous store listens on this socket: port 0 of the loopback interface, bound
    # here and inherited by rank 0, so no port is guessed and nothing listens elsewhere.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        for rank in range(dw.WORLD):
            args = [
                sys.executable,
                str(WORKER),
                "--rank",
                str(rank),
                "--world",
                str(dw.WORLD),
                "--port",
                str(port),
                "--out",
                str(out),
            ]
            fds: tuple[int, ...] = ()
            if rank == 0:
                args += ["--listen-fd", str(listener.fileno())]
                fds = (listener.fileno(),)
            with open(out / f"rank{rank}.log", "wb") as log:
                launch.procs.append(
                    subprocess.Popen(
                        args + names,
                        env=env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        pass_fds=fds,
                        start_new_session=True,
                    )
                )
    return launch


def _wait(launch: Launch) -> None:
    """Wait for every rank; never longer than LAUNCH_TIMEOUT, nor GRACE after a rank died."""
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while any(p.poll() is None for p in launch.procs):
        if any(p.returncode not in (None, 0) for p in launch.procs):
            deadline = min(deadline, time.monotonic() + GRACE)
        if time.monotonic() > deadline:
            launch.timed_out = True
            for p in launch.procs:
                if p.poll() is None:
                    # The worker and any compiler it runs; it may have ended just now.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=30)
            return
        time.sleep(0.1)


def _judge(launch: Launch, names: list[str]) -> tuple[dict[str, Outcome], list[str]]:
    """Outcomes of the scenarios up to the first that failed; the rest are to be re-run."""
    outcomes = {}
    for i, name in enumerate(names):
        files = {
            kind: [launch.out / f"{name}.rank{r}.{kind}" for r in range(dw.WORLD)]
            for kind in ("started", "pt", "error")
        }
        if all(f.exists() for f in files["pt"]):
            outcomes[name] = Outcome(name, [torch.load(f, weights_only=True) for f in files["pt"]])
            continue
        if not any(f.exists() for f in files["started"]):
            return outcomes, names[i:]  # never reached: the workers died before it
        lines = []
        for rank in range(dw.WORLD):
            if files["error"][rank].exists():
                lines.append(f"rank {rank} raised:\n{files['error'][rank].read_text()}")
            else:
                lines.append(
                    f"rank {rank}: {launch.exit_status(rank)}"
                    + (" (the launch timed out)" if launch.timed_out else "")
                    + f"; its log ends with:\n{launch.log(rank)}"
                )
        outcomes[name] = Outcome(name, failure="\n".join(lines))
        return outcomes, names[i + 1 :]
    return outcomes, []


def _scenarios_of(item: pytest.Function) -> set[str]:
    """The worker scenarios whose results a collected test of this module reads."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    if "variant" in params:
        return {f"dtensor_{params['variant']}"}
    return {
        scenario
        for prefix, scenario in TEST_SCENARIO.items()
        if item.originalname.startswith(prefix)
    }


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> dict[str, Outcome]:
    """The scenarios that the selected tests need, run by two processes in one launch
    (and a fresh launch for those after one that failed)."""
    needed = set().union(
        *(_scenarios_of(item) for item in request.session.items if item.module is request.module)
    )
    base = tmp_path_factory.mktemp("distributed")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        GLOO_SOCKET_IFNAME="lo",  # gloo's own connections stay on the loopback too
        OMP_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    outcomes: dict[str, Outcome] = {}
    todo = [name for name in dw.SCENARIOS if name in needed]
    while todo:
        launch = _start(todo, base / f"launch{len(outcomes)}-{len(todo)}", env)
        _wait(launch)
        done, rest = _judge(launch, todo)
        if not done:  # nothing even started: the processes could not run at all
            failure = "\n".join(
                f"rank {r}: {launch.exit_status(r)}; its log ends with:\n{launch.log(r)}"
                for r in range(dw.WORLD)
            )
            done = {name: Outcome(name, failure=failure) for name in todo}
            rest = []
        outcomes.update(done)
        todo = rest
    return outcomes


# --- single-process references ------------------------------------------------------------


def one_thread(fn):
    """Run ``fn`` with one intra-op thread, as the workers do: the same kernels, the same bits."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapper


def torch_config(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "eps_in_sqrt"}


@one_thread
def reference_ddp(opt_cls, config: dict, *, split: bool = True) -> dict:
    """One process training on the same global batches; with ``split``, the gradient is the
    average of the per-rank halves' gradients, as DDP computes it, else that of the batch."""
    model = dw.make_mlp()
    params = list(model.parameters())
    opt = opt_cls(params, **config)
    for step in range(dw.STEPS):
        x, y = dw.global_batch(step)
        if split:
            halves = [
                torch.autograd.grad(dw.mse(model, xs, ys), params)
                for xs, ys in zip(x.chunk(dw.WORLD), y.chunk(dw.WORLD))
            ]
            for p, *grads in zip(params, *halves):
                p.grad = functools.reduce(operator.add, [g / dw.WORLD for g in grads])
        else:
            opt.zero_grad()
            dw.mse(model, x, y).backward()
        opt.step()
    return dw.snapshot(model, opt)


@one_thread
def reference_sharded(opt_cls, config: dict, steps: int = dw.STEPS) -> dict:
    """The sharded parameters' run on full tensors in one process."""
    model = dw.Holder(dw.sharded_values())
    opt = opt_cls(model.parameters(), **config)
    for step in range(steps):
        grads = dw.sharded_grads(step)
        for name, p in model.named_parameters():
            p.grad = grads[name]
        opt.step()
    return dw.snapshot(model, opt)


@one_thread
def reference_tp_mlp(opt_cls, config: dict) -> dict:
    model = dw.make_tp_mlp()
    opt = opt_cls(model.parameters(), **config)
    for step in range(dw.TP_STEPS):
        opt.zero_grad(set_to_none=(step % 2 == 0))
        model(dw.tp_input(step)).sum().backward()
        opt.step()
    return dw.snapshot(model, opt)


def _prefixed(label: str) -> Callable[[str], str]:
    """A message for ``torch.testing.assert_close``: its own, after ``label``."""
    return lambda m: f"{label}: {m}"


def assert_snapshots(
    actual: dict, expected: dict, *, exact: bool, what: str, check_state: bool = True
) -> None:
    """Parameters (and every state tensor) equal: bit for bit, or to float32 rounding."""
    assert actual["params"].keys() == expected["params"].keys(), what
    pairs = [
        (f"{what}: parameter {n}", actual["params"][n], expected["params"][n])
        for n in expected["params"]
    ]
    if check_state:
        assert actual["state"].keys() == expected["state"].keys(), what
        for n, state in expected["state"].items():
            assert actual["state"][n].keys() == state.keys(), f"{what}: state keys of {n}"
            pairs += [
                (f"{what}: state {k!r} of {n}", actual["state"][n][k], v) for k, v in state.items()
            ]
    for label, a, e in pairs:
        if exact:
            assert a.dtype == e.dtype and a.shape == e.shape, label
            assert torch.equal(a, e), f"{label} differs (max |diff| {(a - e).abs().max()})"
        else:
            torch.testing.assert_close(a, e, **F32, msg=_prefixed(label))


# --- DistributedDataParallel ------------------------------------------------------------


@pytest.mark.parametrize("config", dw.DDP_CONFIGS, ids=str)
def test_ddp_ranks_stay_identical_and_equal_a_single_process_run(runs, config):
    kwargs = dw.DDP_CONFIGS[config]
    ranks = [r[config] for r in runs["ddp"].get()]
    assert_snapshots(ranks[1], ranks[0], exact=True, what="rank 1 against rank 0")
    # One process, same global batch, the ranks' gradients averaged: the same bits.
    assert_snapshots(
        ranks[0], reference_ddp(RMSprop, kwargs), exact=True, what="DDP against one process"
    )
    # The gradient of the whole batch at once differs from the average by rounding only.
    assert_snapshots(
        ranks[0],
        reference_ddp(RMSprop, kwargs, split=False),
        exact=False,
        what="DDP against one process on the unsplit batch",
    )
    if not dw.ours_only(kwargs):
        assert_snapshots(
            ranks[0],
            reference_ddp(torch.optim.RMSprop, torch_config(kwargs)),
            exact=False,
            what="DDP against torch.optim.RMSprop in one process",
        )


# --- ZeroRedundancyOptimizer ------------------------------------------------------------


@pytest.mark.parametrize("config", dw.DDP_CONFIGS, ids=str)
def test_zero_redundancy_optimizer_matches_unsharded_training(runs, config):
    kwargs = dw.DDP_CONFIGS[config]
    ranks = [r[config] for r in runs["zero"].get()]
    expected = reference_ddp(RMSprop, kwargs)
    # Each rank stepped only its share of the parameters, and every parameter was stepped.
    assert all(r["owned"] > 0 for r in ranks), [r["owned"] for r in ranks]
    assert sum(r["owned"] for r in ranks) == len(expected["params"])
    for rank, result in enumerate(ranks):
        assert_snapshots(
            result,
            expected,
            exact=True,
            check_state=False,
            what=f"rank {rank} under ZeroRedundancyOptimizer against one process",
        )
    # The state gathered on rank 0 is the unsharded optimizer's, in its state_dict format.
    consolidated = ranks[0]["consolidated"]
    names = ranks[0]["names"]
    assert sorted(consolidated["state"]) == list(range(len(names)))
    actual = {
        "params": expected["params"],
        "state": {names[i]: s for i, s in consolidated["state"].items()},
    }
    assert_snapshots(actual, expected, exact=True, what="consolidated ZeRO state")


# --- FSDP2 (fully_shard): parameters become DTensors sharded along dim 0 ----------------


@pytest.mark.parametrize("config", dw.DDP_CONFIGS, ids=str)
def test_fsdp_fully_shard_equals_a_single_process_run(runs, config):
    kwargs = dw.DDP_CONFIGS[config]
    ranks = [r[config] for r in runs["fsdp"].get()]
    assert_snapshots(ranks[1], ranks[0], exact=True, what="rank 1 against rank 0")
    # FSDP averages the ranks' gradients as DDP does (reduce-scatter): the same bits.
    assert_snapshots(
        ranks[0], reference_ddp(RMSprop, kwargs), exact=True, what="FSDP2 against one process"
    )
    for rank, result in enumerate(ranks):
        for name, state in result["layouts"].items():
            assert all(
                info["type"] == "DTensor" and info["placements"] == ["S(0)"]
                for key, info in state.items()
                if key != "step"
            ), (rank, name, state)


# --- parameters sharded as DTensors ------------------------------------------------------

DTENSOR_CASES = [(v, c) for v in ("loop", "foreach", "default") for c in dw.DTENSOR_CONFIGS]


@pytest.mark.parametrize(
    ("variant", "config"), DTENSOR_CASES, ids=[f"{v}-{c}" for v, c in DTENSOR_CASES]
)
def test_dtensor_sharded_step_equals_full_tensors_bit_for_bit(runs, variant, config):
    kwargs = dw.DTENSOR_CONFIGS[config]
    ranks = [r["synthetic"][config] for r in runs[f"dtensor_{variant}"].get()]
    assert_snapshots(ranks[1], ranks[0], exact=True, what="rank 1 against rank 0")
    # Same gradients, sharded or not: the element-wise update runs the same operations.
    ours = reference_sharded(RMSprop, {**kwargs, **dw.VARIANTS[variant]})
    assert_snapshots(ranks[0], ours, exact=True, what="sharded against full tensors")
    if not dw.ours_only(kwargs):
        theirs = reference_sharded(torch.optim.RMSprop, {**torch_config(kwargs), "foreach": False})
        assert_snapshots(
            ranks[0], theirs, exact=True, what="sharded against torch.optim.RMSprop on full tensors"
        )


@pytest.mark.parametrize("variant", ["loop", "foreach", "default"])
def test_dtensor_state_is_sharded_like_its_parameter(runs, variant):
    layouts = runs[f"dtensor_{variant}"].get()
    for rank, result in enumerate(layouts):
        for config, by_param in result["layouts"].items():
            for name, shape in dw.SHARDED_SHAPES.items():
                rows = -(-shape[0] // dw.WORLD)  # torch.chunk's split: 7 rows -> 4 and 3
                local = (min(rows, shape[0] - rank * rows), *shape[1:])
                state = dict(by_param[name])
                assert state.pop("step") == {"type": "Tensor", "shape": ()}
                expected_keys = {"square_avg"}
                expected_keys |= (
                    {"grad_avg"} if dw.DTENSOR_CONFIGS[config].get("centered") else set()
                )
                expected_keys |= (
                    {"momentum_buffer"} if dw.DTENSOR_CONFIGS[config].get("momentum") else set()
                )
                assert set(state) == expected_keys, (config, name)
                for key, info in state.items():
                    assert info == {
                        "type": "DTensor",
                        "placements": ["S(0)"],
                        "local_shape": local,
                        "shape": shape,
                    }, (config, name, key)


@pytest.mark.parametrize("variant", ["loop", "default"])
@pytest.mark.parametrize("config", ["plain", "centered", "momentum"])
def test_dtensor_sharded_mlp_matches_single_device_training(runs, variant, config):
    # torch's test_RMSprop_1d_sharding: Linear weights and biases Shard(0), replicated input.
    # The sharded matmuls sum in another order, so the gradients (and all that follows) agree
    # to float32 rounding: torch's own tolerance for this test.
    kwargs = dw.DTENSOR_CONFIGS[config]
    ranks = [r["model"][config] for r in runs[f"dtensor_{variant}"].get()]
    assert_snapshots(ranks[1], ranks[0], exact=True, what="rank 1 against rank 0")
    assert_snapshots(
        ranks[0],
        reference_tp_mlp(torch.optim.RMSprop, kwargs),
        exact=False,
        what="sharded MLP against torch.optim.RMSprop on one device",
    )
    assert_snapshots(
        ranks[0],
        reference_tp_mlp(RMSprop, {**kwargs, **dw.VARIANTS[variant]}),
        exact=False,
        what="sharded MLP against rmsprop_lib.RMSprop on one device",
    )


# --- torch.distributed.checkpoint ---------------------------------------------------------


def test_dcp_checkpoint_of_sharded_state_resumes_identically(runs):
    for rank, result in enumerate(runs["dcp"].get()):
        what = f"rank {rank}"
        # The fresh model started elsewhere, so the load is what made it equal.
        assert not torch.equal(
            result["before_load"]["params"]["weight"], result["at_save"]["params"]["weight"]
        )
        assert_snapshots(
            result["after_load"],
            result["at_save"],
            exact=True,
            what=f"{what}: restored from the checkpoint against the saved run",
        )
        assert all(
            info["type"] == "DTensor"
            for state in result["layouts"].values()
            for key, info in state.items()
            if key != "step"
        ), result["layouts"]
        assert_snapshots(
            result["resumed"],
            result["uninterrupted"],
            exact=True,
            what=f"{what}: resumed after loading against uninterrupted",
        )
        expected = reference_sharded(RMSprop, {**dw.DCP_CONFIG, **dw.VARIANTS["loop"]})
        assert_snapshots(
            result["uninterrupted"],
            expected,
            exact=True,
            what=f"{what}: uninterrupted sharded run against full tensors",
        )
        assert result["resumed"]["state"]["weight"]["step"].item() == dw.STEPS


# --- fused=True with DTensor parameters ---------------------------------------------------


@pytest.mark.parametrize("config", ["plain", "all"])
def test_fused_with_dtensor_parameters_raises_in_the_constructor(runs, config):
    # The kernel takes one local array per tensor, which a DTensor is not: the constructor
    # refuses, naming the parameter and its type, and nothing has touched the parameters.
    # (A crash, the old behaviour, fails this test with the workers' signal.)
    for rank, result in enumerate(runs["fused_dtensor"].get()):
        result = result[config]
        assert result["raised"] is not None, (
            f"rank {rank}: RMSprop(DTensor parameters, fused=True) was constructed; "
            "expected FusedUnavailableError"
        )
        assert result["is_fused_unavailable"], (
            f"rank {rank}: raised {result['raised']}: {result['message']}"
        )
        assert re.search(r"parameter 0\b.*\bDTensor\b", result["message"]), result["message"]
        for name, value in dw.sharded_values().items():
            assert torch.equal(result["params_untouched"]["params"][name], value)


# --- the API page -------------------------------------------------------------------------


@pytest.mark.book
def test_api_page_shows_the_ddp_pattern_last(built_book):
    from bs4 import BeautifulSoup

    html = (built_book.html / "book" / "api.html").read_text(encoding="utf-8")
    main = BeautifulSoup(html, "html.parser").select_one("article")
    assert main is not None, "no <article> on api.html"
    sections = main.select("section section")
    heading = sections[-1].find("h2")
    assert heading is not None and "多机训练" in heading.get_text(), "not the last section"
    block = sections[-1].select_one("div.highlight-python pre")
    assert block is not None, "no Python code block in the last section"
    code = block.get_text()
    compile(code, "api.md: 多机训练", "exec")  # what a reader copies is valid Python
    assert "model = DDP(torch.nn.Linear(5, 1))" in code and "loss.backward()" in code
    assert "rmsprop_lib.RMSprop(model.parameters(), lr=0.01)" in code
    text = sections[-1].get_text()
    assert "ZeroRedundancyOptimizer" in text and "DTensor" in text
    assert "torch.distributed.checkpoint" in text
    link = sections[-1].select_one('a[href$="#rmsprop_lib.fused.FusedUnavailableError"]')
    assert link is not None, "FusedUnavailableError is not linked to its documentation"
