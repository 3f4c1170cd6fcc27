"""rmsprop_lib.fused: the kernel equals the per-tensor loop; bad input is an exception, never a
crash; the kernel is the one built with the package, and a stale one is refused."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.optim.rmsprop import rmsprop as torch_rmsprop

from helpers import clone_params, make_params, needs_compiler, set_grads
from rmsprop_lib import RMSprop, _group, fused

ROOT = Path(__file__).resolve().parents[1]
TOL: dict[torch.dtype, dict[str, Any]] = {
    torch.float64: dict(rtol=1e-12, atol=1e-12),
    torch.float32: dict(rtol=1.3e-6, atol=1e-5),
}
# The kernel is built when the package is installed (pip install -e . builds it in place).
needs_cc = needs_compiler


# --- a reference: torch's own per-tensor loop, and the same loop with ε inside the root ---


def reference_step(
    params,
    grads,
    vs,
    ms,
    bs,
    *,
    lr,
    alpha,
    eps,
    weight_decay,
    momentum,
    centered,
    maximize,
    eps_in_sqrt,
):
    if not eps_in_sqrt:
        torch_rmsprop(
            params,
            grads,
            vs,
            ms,
            bs,
            [torch.zeros(()) for _ in params],
            foreach=False,
            maximize=maximize,
            has_complex=any(p.is_complex() for p in params),
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        return
    for i, p in enumerate(params):
        real = (lambda t: torch.view_as_real(t)) if p.is_complex() else (lambda t: t)
        p, g, v = real(p), real(grads[i]), real(vs[i])
        g = -g if maximize else g
        if weight_decay:
            g = g.add(p, alpha=weight_decay)
        v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        var = v
        if centered:
            m = real(ms[i])
            m.lerp_(g, 1 - alpha)
            var = v.addcmul(m, m, value=-1)
        denom = var.add(eps).sqrt_()
        if momentum > 0:
            b = real(bs[i])
            b.mul_(momentum).addcdiv_(g, denom)
            p.add_(b, alpha=-lr)
        else:
            p.addcdiv_(g, denom, value=-lr)


def make_group(dtypes, seed=0):
    """Parameters of several shapes (a 0-dim one, a transposed one, an empty one) and states
    laid out like them, with non-zero starting states."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for k, dtype in enumerate(dtypes):
        shape = [(3, 5), (7,), (), (4, 3), (0, 3)][k % 5]
        p = torch.randn(shape, dtype=dtype, generator=g)
        params.append(p.t().contiguous().t() if len(shape) == 2 and k % 5 == 3 else p)

    def like(p, positive=False):
        real = torch.randn(
            torch.view_as_real(p).shape if p.is_complex() else p.shape,
            dtype=p.real.dtype,
            generator=g,
        )
        real = real.abs() + 0.5 if positive else real * 0.1  # a variance that stays positive
        value = torch.view_as_complex(real) if p.is_complex() else real
        return torch.empty_like(p).copy_(value)

    return (
        params,
        [like(p, True) for p in params],
        [like(p) for p in params],
        [like(p) for p in params],
    )


def grads_like(params, step):
    g = torch.Generator().manual_seed(100 + step)
    return [
        torch.empty_like(p).copy_(torch.randn(p.shape, dtype=p.dtype, generator=g)) for p in params
    ]


def clone(tensors):
    return [t.clone() for t in tensors]


OPTION_GRID = [
    dict(zip(("centered", "momentum", "maximize", "weight_decay", "eps_in_sqrt"), values))
    for values in itertools.product(
        (False, True), (0.0, 0.5), (False, True), (0.0, 0.1), (False, True)
    )
]


def options_id(o):
    return "-".join(k for k, v in o.items() if v) or "plain"


# --- parity ----------------------------------------------------------------------------------


@needs_cc
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("options", OPTION_GRID, ids=[options_id(o) for o in OPTION_GRID])
def test_the_kernel_equals_the_loop_on_every_option_combination(options, dtype):
    params, vs, ms, bs = make_group([dtype] * 5)
    ref = [clone(params), clone(vs), clone(ms), clone(bs)]
    hyper: dict[str, Any] = dict(lr=0.01, alpha=0.9, eps=1e-6, **options)
    for step in range(5):
        grads = grads_like(params, step)
        fused.fused_update(params, grads, vs, ms, bs, **hyper)
        reference_step(ref[0], grads, *ref[1:], **hyper)
        for ours, theirs in zip([params, vs, ms, bs], ref):
            for a, b in zip(ours, theirs):
                torch.testing.assert_close(a, b, **TOL[dtype])
    assert not torch.equal(params[0], make_group([dtype])[0][0])  # it did move


@needs_cc
@pytest.mark.parametrize("options", [OPTION_GRID[0], OPTION_GRID[-1]], ids=["plain", "all"])
def test_one_call_updates_a_group_of_mixed_dtypes_complex_ones_as_real_views(options, monkeypatch):
    dtypes = [
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.float64,
        torch.float32,
        torch.complex128,
        torch.float32,
        torch.float64,
        torch.float32,
    ]
    params, vs, ms, bs = make_group(dtypes)
    ref = [clone(params), clone(vs), clone(ms), clone(bs)]
    calls: list[int] = []
    kernel = fused.load_kernel()

    class Counting:
        def __getattr__(self, name: str) -> Any:
            function = getattr(kernel, name)

            def counted(*args: Any) -> Any:
                calls.append(args[0])
                return function(*args)

            return counted

    monkeypatch.setattr(fused, "load_kernel", Counting)
    grads = grads_like(params, 0)
    hyper: dict[str, Any] = dict(lr=0.01, alpha=0.9, eps=1e-6, **options)
    fused.fused_update(params, grads, vs, ms, bs, **hyper)
    reference_step(ref[0], grads, *ref[1:], **hyper)
    assert calls == [8]  # one call; the two empty parameters are left out
    for ours, theirs in zip([params, vs, ms, bs], ref):
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, **TOL[torch.float32])


@needs_cc
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_large_groups_split_across_threads_equal_the_loop(dtype):
    n = fused.PARALLEL_THRESHOLD * 3 + 17  # several chunks, a ragged tail, chunks across tensors
    g = torch.Generator().manual_seed(9)
    params = [torch.randn(n, dtype=dtype, generator=g)] + [
        torch.randn(301, 7, dtype=dtype, generator=g) for _ in range(40)
    ]
    vs, ms, bs = ([torch.zeros_like(p) for p in params] for _ in range(3))
    ref = [clone(params), clone(vs), clone(ms), clone(bs)]
    hyper: dict[str, Any] = dict(
        lr=0.01,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.1,
        momentum=0.9,
        centered=True,
        maximize=False,
        eps_in_sqrt=False,
    )
    for step in range(3):
        grads = grads_like(params, step)
        fused.fused_update(params, grads, vs, ms, bs, **hyper)
        reference_step(ref[0], grads, *ref[1:], **hyper)
    for a, b in zip(params + bs, ref[0] + ref[3]):
        torch.testing.assert_close(a, b, **TOL[dtype])


@needs_cc
@pytest.mark.parametrize(
    "lr",
    [torch.tensor(0.01), torch.tensor([0.01]), torch.tensor([[0.01]])],
    ids=["[]", "[1]", "[1,1]"],
)
def test_a_one_element_tensor_lr_gives_the_numbers_of_a_float_lr(lr):
    params, vs, ms, bs = make_group([torch.float32] * 4)
    twin = [clone(params), clone(vs), clone(ms), clone(bs)]
    grads = grads_like(params, 0)
    hyper: dict[str, Any] = dict(
        alpha=0.9,
        eps=1e-6,
        weight_decay=0.0,
        momentum=0.5,
        centered=True,
        maximize=False,
        eps_in_sqrt=False,
    )
    fused.fused_update(params, grads, vs, ms, bs, lr=lr, **hyper)
    fused.fused_update(twin[0], grads, *twin[1:], lr=0.01, **hyper)
    assert all(
        torch.equal(a, b)
        for a, b in zip(params + vs + ms + bs, itertools.chain.from_iterable(twin))
    )


def test_a_tensor_lr_of_several_elements_is_refused():
    params, vs, _, _ = make_group([torch.float32])
    with pytest.raises(ValueError, match=r"^Tensor lr must be 1-element$"):
        fused.fused_update(
            params,
            grads_like(params, 0),
            vs,
            None,
            None,
            lr=torch.tensor([0.1, 0.2]),
            alpha=0.9,
            eps=1e-8,
            weight_decay=0,
            momentum=0,
            centered=False,
            maximize=False,
            eps_in_sqrt=False,
        )


@needs_cc
def test_autograd_sees_the_kernel_write_in_place():
    p = torch.randn(4, requires_grad=True)
    loss = (p * p).sum()  # saves p for the backward pass
    with torch.no_grad():
        fused.fused_update(
            [p],
            [torch.ones(4)],
            [torch.zeros(4)],
            [],
            [],
            lr=0.1,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0,
            momentum=0,
            centered=False,
            maximize=False,
            eps_in_sqrt=False,
        )
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation"):
        loss.backward()


# --- bad input: a Python exception naming the parameter and the tensor, never a crash ------

BAD_INPUT = r"""
import json, torch
from rmsprop_lib import fused

def group(n=2, shape=(4, 3), dtype=torch.float32):
    ps = [torch.randn(shape, dtype=dtype) for _ in range(n)]
    return [ps, [torch.randn_like(p) for p in ps], [torch.rand_like(p) for p in ps],
            [torch.zeros_like(p) for p in ps], [torch.zeros_like(p) for p in ps]]

class Sub(torch.Tensor):
    pass

def case(name):
    t = group()
    if name == "shape":
        t[2][1] = torch.zeros(2, 3)  # the state of a smaller parameter
    elif name == "same-numel-shape":
        t[3][0] = torch.zeros(3, 4)
    elif name == "dtype":
        t[2][0] = torch.zeros(4, 3, dtype=torch.float64)
    elif name == "device":
        t[4][1] = torch.zeros(4, 3, device="meta")
    elif name == "non-contiguous":
        t[1][1] = torch.randn(3, 4).t()
    elif name == "not-dense":
        t = group(); base = [torch.randn(8, 3) for _ in range(5)]
        for k in range(5):
            t[k][0] = base[k][::2]
    elif name == "overlap-within":
        t[1][0] = t[0][0].view(-1).view(4, 3)  # the gradient is the parameter's own memory
    elif name == "overlap-across":
        big = torch.zeros(24)
        t[2][0], t[2][1] = big[:12].view(4, 3), big[6:18].view(4, 3)
    elif name == "zero-size-state":
        t[2][1] = torch.zeros(0)
    elif name == "none-grad":
        t[1][0] = None
    elif name == "subclass":
        t[2][0] = t[2][0].as_subclass(Sub)
    elif name == "sparse":
        t[1][1] = t[1][1].to_sparse()
    elif name == "conj":
        t = group(dtype=torch.complex64)
        t[1][0] = t[1][0].conj()
    elif name == "missing-state":
        t[4] = t[4][:1]
    elif name == "unsupported-dtype":
        t = group(dtype=torch.float16)
    return t

results = {}
for name in NAMES:
    t = case(name)
    before = [[x.clone() if isinstance(x, torch.Tensor) and x.device.type == "cpu" and x.layout == torch.strided else x
               for x in column] for column in t]
    try:
        fused.fused_update(*t, lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0, momentum=0.9,
                           centered=True, maximize=False, eps_in_sqrt=False)
        outcome = ["no error", ""]
    except Exception as error:
        outcome = [type(error).__name__, str(error)]
    untouched = all(torch.equal(x, y) for column, old in zip(t, before) for x, y in zip(column, old)
                    if isinstance(x, torch.Tensor) and x.device.type == "cpu" and x.layout == torch.strided
                    and not x.is_conj() and type(x) is torch.Tensor)
    results[name] = outcome + [untouched]
t = group()
fused.fused_update(*t, lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0, momentum=0.9, centered=True,
                   maximize=False, eps_in_sqrt=False)  # the interpreter and the kernel still work
print(json.dumps(results))
"""

BAD_CASES = {
    "shape": r"parameter 1: square_avg has shape \[2, 3\], but the parameter has shape \[4, 3\]",
    "same-numel-shape": r"parameter 0: grad_avg has shape \[3, 4\], but the parameter has shape \[4, 3\]",
    "dtype": r"parameter 0: square_avg is torch\.float64, but the parameter is torch\.float32",
    "device": r"parameter 1: momentum_buffer is on meta; the fused kernel runs on CPU only",
    "non-contiguous": r"parameter 1: grad has strides \(1, 4\), but the parameter has strides \(3, 1\); "
    r"the fused kernel needs one layout for both",
    "not-dense": r"parameter 0 is not dense \(strides \(6, 1\) for shape \[4, 3\]\)",
    "overlap-within": r"parameter 0's (param and parameter 0's grad|grad and parameter 0's param) "
    r"overlap in memory; nothing was updated",
    "overlap-across": r"parameter [01]'s square_avg and parameter [01]'s square_avg overlap in memory",
    "zero-size-state": r"parameter 1: square_avg has shape \[0\], but the parameter has shape \[4, 3\]",
    "none-grad": r"parameter 0: grad is None",
    "subclass": r"parameter 0: square_avg is a Sub; the fused kernel takes plain tensors",
    "sparse": r"parameter 1: grad is torch\.sparse_coo; the fused kernel takes strided tensors only",
    "conj": r"parameter 0: grad is a lazily conjugated or negated view",
    "missing-state": r"1 momentum_buffer tensors for 2 parameters",
    "unsupported-dtype": r"parameter 0 is torch\.float16; the fused kernel supports float32",
}


@pytest.mark.slow
@needs_cc
def test_bad_tensors_raise_naming_parameter_and_key_and_the_interpreter_lives_on():
    code = f"NAMES = {list(BAD_CASES)!r}\n" + BAD_INPUT
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])  # e.g. -11 for SIGSEGV
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, pattern in BAD_CASES.items():
        kind, message, untouched = results[name]
        assert kind == "ValueError", (name, kind, message)
        assert message.startswith("fused RMSprop step: ") and re.search(pattern, message), (
            name,
            message,
        )
        assert untouched, f"{name}: a tensor was written before the error"


# --- between steps: what a user does to parameters and state, met as torch meets it ----------

BETWEEN_STEPS = r"""
import json, torch
from rmsprop_lib import RMSprop

def make(opt_class, **kw):
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, generator=g).requires_grad_() for _ in range(3)]
    return params, opt_class(params, lr=0.01, momentum=0.5, centered=True, **kw)

def grads(params, k):
    g = torch.Generator().manual_seed(100 + k)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g).to(p.dtype)

def change(name, params, opt):
    p = params[1]
    state = opt.state[p]
    if name == "state-replaced-smaller":
        state["square_avg"] = torch.zeros(2)
    elif name == "state-set-smaller":
        state["momentum_buffer"].set_(torch.zeros(2))
    elif name == "state-resized-in-place":
        state["grad_avg"].resize_(2)
    elif name == "param-data-smaller":
        p.data = torch.randn(2)
    elif name == "param-data-prefix-view":  # same address, fewer elements
        p.data = p.data.view(-1)[:6]
    elif name == "param-data-transposed":  # same values, another layout
        p.data = p.data.t().contiguous().t()
    elif name == "param-data-new-tensor":
        p.data = p.data.clone()
    elif name == "param-in-place":
        with torch.no_grad():
            p.mul_(0.5)
    elif name == "step-int":
        state["step"] = torch.tensor(2)
    elif name == "step-float64":
        for q in params:
            opt.state[q]["step"] = opt.state[q]["step"].double()
    elif name == "grad-none":
        p.grad = None

def run(name, opt_class, **kw):
    params, opt = make(opt_class, **kw)
    for k in range(2):
        grads(params, k)
        opt.step()
    change(name, params, opt)
    grads([q for q in params if q.grad is not None], 2)
    try:
        opt.step()
        outcome = ["no error"]
    except Exception as error:
        outcome = [type(error).__name__]
    return outcome, params, opt

results = {}
for name in NAMES:
    (kind,), params, opt = run(name, RMSprop, fused=True)
    (torch_kind,), twins, reference = run(name, torch.optim.RMSprop)
    same = kind == "no error" and all(
        torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(params, twins)
    ) and all(
        torch.equal(opt.state[a]["step"], reference.state[b]["step"])
        and opt.state[a]["step"].dtype == reference.state[b]["step"].dtype
        for a, b in zip(params, twins)
    )
    results[name] = [kind, torch_kind, same]
grads(params, 3)
opt.step()  # the interpreter and the kernel still work
print(json.dumps(results))
"""

# What torch.optim.RMSprop does after each change: raise (RuntimeError) or step on.
BETWEEN_CASES = {
    "state-replaced-smaller": "RuntimeError",
    "state-set-smaller": "RuntimeError",
    "state-resized-in-place": "RuntimeError",
    "param-data-smaller": "RuntimeError",
    "param-data-prefix-view": "RuntimeError",
    "param-data-transposed": "no error",
    "param-data-new-tensor": "no error",
    "param-in-place": "no error",
    "step-int": "no error",
    "step-float64": "no error",
    "grad-none": "no error",
}


@pytest.mark.slow
@needs_cc
def test_what_changes_between_fused_steps_is_checked_again_and_met_as_torch_meets_it():
    # The fused path re-checks only what can change from one step to the next: each change
    # here must be noticed (the same error as torch, or the same numbers), never a crash.
    code = f"NAMES = {list(BETWEEN_CASES)!r}\n" + BETWEEN_STEPS
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])  # e.g. -11 for SIGSEGV
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, expected in BETWEEN_CASES.items():
        kind, torch_kind, same = results[name]
        assert torch_kind == expected, (name, torch_kind)
        assert kind == expected, (name, kind)
        if expected == "no error":
            assert same, f"{name}: parameters or step counters differ from torch's"


@needs_cc
def test_a_fused_group_is_checked_in_full_once_then_its_gradients_each_step(monkeypatch):
    checked: list[str] = []
    real = _group._check_like

    def counted(tensors, key, *args):
        checked.append(key)
        return real(tensors, key, *args)

    monkeypatch.setattr(_group, "_check_like", counted)
    params = [torch.randn(5, 3).requires_grad_() for _ in range(4)]
    opt = RMSprop(params, fused=True, momentum=0.5, centered=True)
    states = ["square_avg", "grad_avg", "momentum_buffer"]
    for _ in range(4):
        for p in params:  # new gradient tensors at every step, as after zero_grad
            p.grad = torch.randn_like(p)
        opt.step()
    assert checked == ["grad", *states] + ["grad"] * 3
    checked.clear()
    opt.state[params[0]]["square_avg"].add_(0)  # an in-place operation: checked in full again
    opt.step()
    opt.step()
    assert checked == ["grad", *states, "grad"]
    checked.clear()
    params[1].data = params[1].data.clone()  # elsewhere, in the same layout: checked each step
    opt.step()
    assert checked == ["grad"]


@needs_cc
def test_the_kernel_counts_the_steps_like_torch_and_bumps_their_versions():
    params = make_params(torch.float32)
    params, twins = clone_params(params), clone_params(params)
    opt, reference = RMSprop(params, fused=True), torch.optim.RMSprop(twins)
    for step in range(3):
        set_grads(params, step)
        set_grads(twins, step)
        opt.step()
        reference.step()
    for p, q in zip(params, twins):
        ours, theirs = opt.state[p]["step"], reference.state[q]["step"]
        assert torch.equal(ours, theirs) and ours.dtype == theirs.dtype == torch.float32
    versions = [opt.state[p]["step"]._version for p in params]
    set_grads(params, 3)
    opt.step()
    assert [opt.state[p]["step"]._version for p in params] == [v + 1 for v in versions]


@needs_cc
def test_overlap_with_momentum_but_not_centered_names_the_momentum_buffer():
    # The kernel numbers its arrays param, grad, square_avg, grad_avg, momentum_buffer
    # whichever are present; the message must name the right one (it once raised IndexError).
    p = torch.randn(4)
    with pytest.raises(
        ValueError,
        match=r"parameter 0's (param and parameter 0's momentum_buffer|momentum_buffer and "
        r"parameter 0's param) overlap in memory; nothing was updated",
    ):
        fused.fused_update(
            [p],
            [torch.randn(4)],
            [torch.zeros(4)],
            None,
            [p],
            lr=0.1,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0,
            momentum=0.5,
            centered=False,
            maximize=False,
            eps_in_sqrt=False,
        )


def test_unfusable_reason_says_why_without_raising_and_none_for_a_good_group():
    ps = [torch.randn(3, 4).t(), torch.randn(5)]  # a dense transposed parameter, and a vector
    grads = [torch.randn(3, 4).t(), torch.randn(5)]  # laid out like their parameters
    states = [torch.zeros_like(p) for p in ps]  # zeros_like keeps a dense layout
    assert fused.unfusable_reason(ps, grads, states, [], [], centered=False, momentum=0) is None
    assert (
        fused.unfusable_reason(ps, grads, states, None, None, centered=True, momentum=0)
        == "0 grad_avg tensors for 2 parameters"
    )
    grads[0] = torch.randn(4, 3)  # contiguous, unlike its parameter
    assert fused.unfusable_reason(ps, grads, states, [], [], centered=False, momentum=0) == (
        "parameter 0: grad has strides (3, 1), but the parameter has strides (1, 4); "
        "the fused kernel needs one layout for both"
    )


@needs_cc
def test_a_dense_transposed_parameter_with_state_in_its_layout_is_fused():
    params, vs, ms, bs = make_group([torch.float64] * 4)
    assert not params[3].is_contiguous()
    grads = grads_like(params, 0)
    assert fused.unfusable_reason(params, grads, vs, ms, bs, centered=True, momentum=0.5) is None


@needs_cc
def test_fused_update_checks_again_when_a_tensor_changed_after_unfusable_reason():
    ps, grads, states = [torch.randn(4, 3)], [torch.randn(4, 3)], [torch.zeros(4, 3)]
    assert fused.unfusable_reason(ps, grads, states, [], [], centered=False, momentum=0) is None
    # the state now has other memory and another shape (set_(Tensor) is documented by torch,
    # but its stubs list only the Storage overloads)
    states[0].set_(torch.zeros(2))  # type: ignore[call-overload]
    with pytest.raises(
        ValueError,
        match=r"parameter 0: square_avg has shape \[2\], but the parameter "
        r"has shape \[4, 3\]",
    ):
        fused.fused_update(
            ps,
            grads,
            states,
            [],
            [],
            lr=0.1,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0,
            momentum=0,
            centered=False,
            maximize=False,
            eps_in_sqrt=False,
        )


# --- what can be fused at all ---------------------------------------------------------------


class Sub(torch.Tensor):
    pass


@pytest.mark.parametrize(
    "param, message",
    [
        (
            torch.zeros(2, dtype=torch.float16),
            r"is torch\.float16; the fused kernel supports float32, float64, complex64 and "
            r"complex128$",
        ),
        (torch.zeros(2, device="meta"), r"is on meta; the fused kernel runs on CPU only$"),
        (
            torch.zeros(2).as_subclass(Sub),
            r"is a Sub; the fused kernel takes plain tensors "
            r"\(torch\.Tensor, nn\.Parameter\) only$",
        ),
        (
            torch.zeros(2, 2).to_sparse(),
            r"is torch\.sparse_coo; the fused kernel takes strided tensors only$",
        ),
    ],
    ids=["float16", "meta", "subclass", "sparse"],
)
def test_check_fusable_names_the_parameter_and_the_group(param, message):
    ok = [torch.nn.Parameter(torch.zeros(2)), torch.zeros(2, dtype=torch.complex128)]
    fused.check_fusable(ok, where=" of group 3")
    with pytest.raises(
        fused.FusedUnavailableError, match=r"^fused=True: parameter 2 of group 3 " + message
    ):
        fused.check_fusable([*ok, param], where=" of group 3")


# --- the kernel built with the package ---------------------------------------------------


@needs_cc
def test_the_parallel_kernel_shares_torchs_openmp_runtime():
    fused.load_kernel()
    assert fused.build_info()["openmp"] is True
    with open("/proc/self/maps") as maps:
        runtimes = {line.split()[-1] for line in maps if "libgomp" in line}
    assert len(runtimes) == 1, runtimes  # one OpenMP runtime in the process: torch's


@pytest.mark.slow
@needs_cc
def test_a_compiler_without_openmp_builds_a_serial_kernel_that_says_so(tmp_path):
    # setup.py tries -fopenmp first and builds without it when the compiler refuses it.
    copy = copy_package(tmp_path, kernel=False)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    cc = tmp_path / "cc-without-openmp"
    cc.write_text(
        '#!/bin/sh\nfor arg in "$@"; do\n'
        '  if [ "$arg" = -fopenmp ]; then echo "unsupported: -fopenmp" >&2; exit 1; fi\n'
        f'done\nexec {shutil.which("gcc") or "cc"} "$@"\n'
    )
    cc.chmod(0o755)
    build = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CC": str(cc)},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert "unsupported: -fopenmp" in build.stdout + build.stderr
    step = (
        "import torch\nfrom rmsprop_lib import fused\n"
        "p, g, v = [torch.ones(5)], [torch.full((5,), 2.0)], [torch.zeros(5)]\n"
        "fused.fused_update(p, g, v, [], [], lr=0.1, alpha=0.75, eps=0.0, weight_decay=0,"
        " momentum=0, centered=False, maximize=False, eps_in_sqrt=False)\n"
        "print(fused.build_info()['openmp'], p[0].tolist())\n"
    )
    proc = run_python(step, copy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # v = 0.25 * 4 = 1: one step of 0.1 * g / sqrt(v) from 1
    openmp, values = proc.stdout.strip().split(" ", 1)
    assert openmp == "False"
    assert json.loads(values) == pytest.approx([0.8] * 5, rel=1e-6)


def copy_package(tmp_path: Path, *, kernel: bool) -> Path:
    """This checkout's package in ``tmp_path`` (with its built kernel, or without one)."""
    ignore = ["__pycache__"] + ([] if kernel else ["_fused_kernel*.so"])
    shutil.copytree(
        ROOT / "rmsprop_lib", tmp_path / "rmsprop_lib", ignore=shutil.ignore_patterns(*ignore)
    )
    return tmp_path


def run_python(code: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(path), "HOME": str(path)},
    )


FUSED_TRUE = (
    "import torch\nfrom rmsprop_lib import RMSprop, fused\n"
    "try:\n    RMSprop([torch.zeros(3, requires_grad=True)], fused=True)\n"
    "except fused.FusedUnavailableError as error:\n    print(error)\n"
)


# Without a built kernel, fused=True says how to get one: test_package.py installs the
# package where no compiler works.


@pytest.mark.slow
@needs_cc
def test_a_kernel_built_from_another_source_is_refused_saying_to_rebuild(tmp_path):
    # An editable install whose _fused_kernel.c changed since `pip install -e .` built it.
    copy = copy_package(tmp_path, kernel=True)
    source = copy / "rmsprop_lib" / "_fused_kernel.c"
    with open(source, "a") as handle:
        handle.write("/* an edit */\n")
    proc = run_python(FUSED_TRUE, copy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    message = proc.stdout.strip()
    assert re.fullmatch(
        r"fused=True: the fused RMSprop kernel _fused_kernel\.\S+\.so was built from another "
        r"version of _fused_kernel\.c than the one beside it \(built from [0-9a-f]{12}, now "
        r"[0-9a-f]{12}\); rebuild it: `pip install -e \.` in the checkout \(or `python setup\.py "
        r"build_ext --inplace`\)",
        message,
    ), message
    # An installed package ships no source, so there is nothing to compare: its kernel loads
    # (test_package.py installs one and steps with fused=True).


# --- through the optimizer --------------------------------------------------------------------


@needs_cc
def test_the_optimizer_with_fused_true_matches_torch():
    g = torch.Generator().manual_seed(3)
    start = [
        torch.randn(5, 4, dtype=torch.float64, generator=g),
        torch.randn(6, dtype=torch.complex128, generator=g),
    ]
    ours = [p.clone().requires_grad_() for p in start]
    theirs = [p.clone().requires_grad_() for p in start]
    options: dict[str, Any] = dict(lr=0.01, weight_decay=0.1, momentum=0.5, centered=True)
    ours_opt, theirs_opt = (
        RMSprop(ours, fused=True, **options),
        torch.optim.RMSprop(theirs, **options),
    )
    for _ in range(4):
        for p, q in zip(ours, theirs):
            p.grad = torch.randn(p.shape, dtype=p.dtype, generator=g)
            q.grad = p.grad.clone()
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, **TOL[torch.float64])
        for key, value in theirs_opt.state[q].items():
            torch.testing.assert_close(ours_opt.state[p][key], value, **TOL[torch.float64])
