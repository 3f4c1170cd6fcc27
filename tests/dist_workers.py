"""Worker processes for ``test_distributed.py``: ``rmsprop_lib.RMSprop`` under torch.distributed.

Run as a script, once per rank (the test starts the processes)::

    python tests/dist_workers.py --rank R --world 2 --port P [--listen-fd FD] --out DIR NAME...

Each rank joins a ``gloo`` process group on the loopback interface (rank 0 serves the
rendezvous store on a socket the test bound to port 0 of 127.0.0.1 and handed over as
``--listen-fd``), then runs the named scenarios in order. For every scenario it writes
``NAME.rankR.started`` before, and ``NAME.rankR.pt`` (its results: plain tensors, every
DTensor gathered to its full value) after. A scenario that raises writes
``NAME.rankR.error`` (the traceback) and ends the process with exit code 3, since the ranks'
collectives can no longer be trusted to line up; the test then starts the scenarios that did
not run in fresh processes.

The models, data and configurations are defined here once and imported by the test, which
computes its single-process references from them without torch.distributed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()  # before torch is imported: the log says what imports cost

import torch
from torch import nn
from torch.nn import functional as F

WORLD = 2
STEPS = 4
TP_STEPS = 2  # steps of the sharded-MLP pattern, as in torch's own test
TIMEOUT = datetime.timedelta(seconds=60)  # every store wait and collective gives up after this

# --- what both sides share -------------------------------------------------------------

# Construction keywords under test for DDP and ZeroRedundancyOptimizer (default path first).
DDP_CONFIGS: dict[str, dict[str, Any]] = {
    "default": {"lr": 0.01},
    "centered-momentum-wd": {
        "lr": 0.01,
        "alpha": 0.9,
        "centered": True,
        "momentum": 0.5,
        "weight_decay": 0.01,
    },
    "eps_in_sqrt": {"lr": 0.01, "eps": 1e-3, "eps_in_sqrt": True},
}
# Hyperparameters for sharded (DTensor) parameters: torch's test covers plain, centered, momentum.
DTENSOR_CONFIGS: dict[str, dict[str, Any]] = {
    "plain": {"lr": 0.01},
    "centered": {"lr": 0.01, "centered": True},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "all": {
        "lr": 0.01,
        "alpha": 0.9,
        "centered": True,
        "momentum": 0.5,
        "weight_decay": 0.1,
        "maximize": True,
    },
    "eps_in_sqrt": {"lr": 0.01, "eps": 1e-3, "eps_in_sqrt": True},
}
# How the optimizer is constructed: torch's loop asked for explicitly, multi-tensor, default.
VARIANTS: dict[str, dict[str, Any]] = {
    "loop": {"foreach": False, "fused": False},
    "foreach": {"foreach": True},
    "default": {},
}
# Parameters held as DTensors sharded along dim 0; "odd" has 7 rows, so the shards differ in size.
SHARDED_SHAPES = {"weight": (8, 5), "bias": (8,), "odd": (7, 3)}
DCP_CONFIG: dict[str, Any] = {
    "lr": 0.01,
    "alpha": 0.9,
    "centered": True,
    "momentum": 0.5,
    "weight_decay": 0.1,
}
DCP_SPLIT = 2  # steps before the checkpoint; STEPS - DCP_SPLIT after it


def ours_only(config: dict) -> bool:
    """Whether ``config`` uses an option that ``torch.optim.RMSprop`` lacks."""
    return "eps_in_sqrt" in config


def make_mlp(seed: int = 0) -> nn.Sequential:
    """A small float32 regression model with seeded weights."""
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return model


def global_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch of ``step``: 8 examples; rank r trains on ``chunk(WORLD)[r]``."""
    g = torch.Generator().manual_seed(1000 + step)
    return torch.randn(8, 6, generator=g), torch.randn(8, 1, generator=g)


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(x), y)


def make_tp_mlp(seed: int = 0) -> nn.Sequential:
    """The model of torch's ``test_RMSprop_1d_sharding`` (its ``MLPModule``), seeded."""
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 10))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model


def tp_input(step: int) -> torch.Tensor:
    return torch.randn(8, 10, generator=torch.Generator().manual_seed(3000 + step))


def sharded_values(seed: int = 0) -> dict[str, torch.Tensor]:
    """Full values of the parameters that the workers hold sharded."""
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=g) for name, shape in SHARDED_SHAPES.items()}


def sharded_grads(step: int) -> dict[str, torch.Tensor]:
    """Full gradients of step ``step`` for the sharded parameters."""
    g = torch.Generator().manual_seed(2000 + step)
    return {name: torch.randn(shape, generator=g) for name, shape in SHARDED_SHAPES.items()}


class Holder(nn.Module):
    """A module that only holds the given tensors as parameters (DCP works on modules)."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        for name, t in tensors.items():
            self.register_parameter(name, nn.Parameter(t))


def full(t: torch.Tensor) -> torch.Tensor:
    """A plain copy of ``t``'s full value (a DTensor is gathered: a collective)."""
    from torch.distributed.tensor import DTensor

    if isinstance(t, DTensor):
        t = t.full_tensor()
    return t.detach().clone()


def snapshot(model: nn.Module, opt: torch.optim.Optimizer | None) -> dict:
    """Every parameter and (if ``opt``) its optimizer state, as full plain tensors, by name."""
    params = {name: full(p) for name, p in model.named_parameters()}
    state = {}
    if opt is not None:
        for name, p in model.named_parameters():
            state[name] = {key: full(v) for key, v in opt.state[p].items()}
    return {"params": params, "state": state}


def layout(t) -> dict:
    """What kind of tensor ``t`` is: its class, placements and local shape."""
    from torch.distributed.tensor import DTensor

    if isinstance(t, DTensor):
        return {
            "type": "DTensor",
            "placements": [str(p) for p in t.placements],
            "local_shape": tuple(t.to_local().shape),
            "shape": tuple(t.shape),
        }
    return {"type": type(t).__name__, "shape": tuple(t.shape)}


# --- scenarios (run in every rank) -------------------------------------------------------


def _ddp(rank: int, out: Path) -> dict:
    from torch.nn.parallel import DistributedDataParallel as DDP

    from rmsprop_lib import RMSprop

    results = {}
    for name, config in DDP_CONFIGS.items():
        model = DDP(make_mlp())
        opt = RMSprop(model.parameters(), **config)
        for step in range(STEPS):
            x, y = global_batch(step)
            opt.zero_grad()
            mse(model, x.chunk(WORLD)[rank], y.chunk(WORLD)[rank]).backward()
            opt.step()
        results[name] = snapshot(model.module, opt)
    return results


def _zero(rank: int, out: Path) -> dict:
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel as DDP

    from rmsprop_lib import RMSprop

    results = {}
    for name, config in DDP_CONFIGS.items():
        model = DDP(make_mlp())
        opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=RMSprop, **config)
        for step in range(STEPS):
            x, y = global_batch(step)
            opt.zero_grad()
            mse(model, x.chunk(WORLD)[rank], y.chunk(WORLD)[rank]).backward()
            opt.step()
        owned = sum(len(g["params"]) for g in opt.optim.param_groups)
        opt.consolidate_state_dict(to=0)
        consolidated = opt.state_dict() if rank == 0 else None
        results[name] = {
            **snapshot(model.module, None),
            "owned": owned,
            "consolidated": consolidated,
            "names": [n for n, _ in model.module.named_parameters()],
        }
    return results


def _fsdp(rank: int, out: Path) -> dict:
    from torch.distributed.fsdp import fully_shard

    from rmsprop_lib import RMSprop

    results = {}
    for name, config in DDP_CONFIGS.items():
        model = make_mlp()
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)  # FSDP2: every parameter is now a DTensor sharded along dim 0
        opt = RMSprop(model.parameters(), **config)
        for step in range(STEPS):
            x, y = global_batch(step)
            opt.zero_grad()
            mse(model, x.chunk(WORLD)[rank], y.chunk(WORLD)[rank]).backward()
            opt.step()
        results[name] = {
            **snapshot(model, opt),
            "layouts": {
                n: {k: layout(v) for k, v in opt.state[p].items()}
                for n, p in model.named_parameters()
            },
        }
    return results


def _mesh():
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh("cpu", (WORLD,))


def _shard(t: torch.Tensor, mesh) -> torch.Tensor:
    from torch.distributed.tensor import Shard, distribute_tensor

    return distribute_tensor(t, mesh, [Shard(0)])


def _sharded_holder(mesh, seed: int = 0) -> Holder:
    return Holder({n: _shard(t, mesh) for n, t in sharded_values(seed).items()})


def _set_sharded_grads(model: Holder, step: int, mesh) -> None:
    grads = sharded_grads(step)
    for name, p in model.named_parameters():
        p.grad = _shard(grads[name], mesh)


def _dtensor(variant: str):
    def run(rank: int, out: Path) -> dict:
        from torch.distributed.tensor import Replicate, Shard, distribute_module, distribute_tensor

        from rmsprop_lib import RMSprop

        mesh = _mesh()
        synthetic, layouts = {}, {}
        for name, config in DTENSOR_CONFIGS.items():
            model = _sharded_holder(mesh)
            opt = RMSprop(model.parameters(), **config, **VARIANTS[variant])
            for step in range(STEPS):
                _set_sharded_grads(model, step, mesh)
                opt.step()
            synthetic[name] = snapshot(model, opt)
            layouts[name] = {
                n: {k: layout(v) for k, v in opt.state[p].items()}
                for n, p in model.named_parameters()
            }

        # torch's test_RMSprop_1d_sharding: an MLP whose Linear weights and biases are Shard(0).
        def shard_fn(mod_name, module, device_mesh):
            if isinstance(module, nn.Linear):
                for pname, param in list(module.named_parameters()):
                    dist_param = nn.Parameter(distribute_tensor(param, device_mesh, [Shard(0)]))
                    dist_param.register_hook(lambda grad: grad.redistribute(placements=[Shard(0)]))
                    module.register_parameter(pname, dist_param)

        def input_fn(module, inputs, device_mesh):
            return distribute_tensor(inputs[0], device_mesh, [Replicate()])

        def output_fn(module, outputs, device_mesh):
            return outputs.redistribute(placements=[Replicate()]).to_local()

        model_runs = {}
        for name in ("plain", "centered", "momentum") if variant != "foreach" else ():
            mlp = distribute_module(make_tp_mlp(), mesh, shard_fn, input_fn, output_fn)
            opt = RMSprop(mlp.parameters(), **DTENSOR_CONFIGS[name], **VARIANTS[variant])
            for step in range(TP_STEPS):
                opt.zero_grad(set_to_none=(step % 2 == 0))
                mlp(tp_input(step)).sum().backward()
                opt.step()
            model_runs[name] = snapshot(mlp, opt)
        return {"synthetic": synthetic, "layouts": layouts, "model": model_runs}

    return run


def _dcp(rank: int, out: Path) -> dict:
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    from rmsprop_lib import RMSprop

    mesh = _mesh()
    ckpt = out / "dcp_checkpoint"
    config = {**DCP_CONFIG, **VARIANTS["loop"]}

    model = _sharded_holder(mesh)
    opt = RMSprop(model.parameters(), **config)
    for step in range(DCP_SPLIT):
        _set_sharded_grads(model, step, mesh)
        opt.step()
    at_save = snapshot(model, opt)
    model_sd, optim_sd = get_state_dict(model, opt)
    dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(ckpt))
    for step in range(DCP_SPLIT, STEPS):
        _set_sharded_grads(model, step, mesh)
        opt.step()
    uninterrupted = snapshot(model, opt)

    # A fresh model with other weights and a fresh optimizer, restored from the checkpoint.
    dist.barrier()
    model = _sharded_holder(mesh, seed=99)
    opt = RMSprop(model.parameters(), **config)
    before_load = snapshot(model, None)
    model_sd, optim_sd = get_state_dict(model, opt)
    loaded: dict[str, Any] = {"model": model_sd, "optim": optim_sd}
    dcp.load(loaded, checkpoint_id=str(ckpt))
    set_state_dict(model, opt, model_state_dict=loaded["model"], optim_state_dict=loaded["optim"])
    after_load = snapshot(model, opt)
    layouts = {
        n: {k: layout(v) for k, v in opt.state[p].items()} for n, p in model.named_parameters()
    }
    for step in range(DCP_SPLIT, STEPS):
        _set_sharded_grads(model, step, mesh)
        opt.step()
    resumed = snapshot(model, opt)
    return {
        "at_save": at_save,
        "uninterrupted": uninterrupted,
        "before_load": before_load,
        "after_load": after_load,
        "resumed": resumed,
        "layouts": layouts,
    }


def _fused_dtensor(rank: int, out: Path) -> dict:
    from rmsprop_lib import RMSprop
    from rmsprop_lib.fused import FusedUnavailableError

    mesh = _mesh()
    results = {}
    for name in ("plain", "all"):
        model = _sharded_holder(mesh)
        outcome: dict[str, Any] = {"raised": None, "message": None, "is_fused_unavailable": False}
        try:
            opt = RMSprop(model.parameters(), **DTENSOR_CONFIGS[name], fused=True)
        except Exception as exc:  # recorded, judged by the test
            outcome = {
                "raised": type(exc).__name__,
                "message": str(exc),
                "is_fused_unavailable": isinstance(exc, FusedUnavailableError),
            }
        else:  # constructed after all: see what its steps do (a crash is reported too)
            for step in range(STEPS):
                _set_sharded_grads(model, step, mesh)
                opt.step()
        results[name] = {**outcome, "params_untouched": snapshot(model, None)}
    return results


SCENARIOS = {
    "ddp": _ddp,
    "zero": _zero,
    "dtensor_loop": _dtensor("loop"),
    "dtensor_foreach": _dtensor("foreach"),
    "dcp": _dcp,
    "fsdp": _fsdp,
    "dtensor_default": _dtensor("default"),
    "fused_dtensor": _fused_dtensor,
}


# --- the process ------------------------------------------------------------------------


def _save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # the test sees a result file only once it is complete


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--listen-fd", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("scenarios", nargs="+", choices=sorted(SCENARIOS))
    args = parser.parse_args(argv)
    if args.world != WORLD:
        parser.error(f"--world must be {WORLD}")

    import torch.distributed as dist

    print(
        f"rank {args.rank}: started in {time.perf_counter() - STARTED:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    torch.set_num_threads(1)
    store = dist.TCPStore(
        "127.0.0.1",
        args.port,
        args.world,
        is_master=args.rank == 0,
        timeout=TIMEOUT,
        master_listen_fd=args.listen_fd,
    )
    dist.init_process_group(
        "gloo", store=store, rank=args.rank, world_size=args.world, timeout=TIMEOUT
    )
    for name in args.scenarios:

        def marker(kind: str, name: str = name) -> Path:
            return args.out / f"{name}.rank{args.rank}.{kind}"

        marker("started").touch()
        start = time.perf_counter()
        try:
            result = SCENARIOS[name](args.rank, args.out)
            _save(result, marker("pt"))
            print(
                f"rank {args.rank}: {name} done in {time.perf_counter() - start:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        except BaseException:
            marker("error").write_text(traceback.format_exc())
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(3)  # the peer may be stuck in a collective: leave without a teardown
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
