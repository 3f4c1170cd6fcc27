"""The fused step equals the per-tensor loop, and fails clearly where it cannot run."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from rmsprop_lib import RMSprop, fused, optimizer
from test_optimizer import (CONFIGS, IDS, TOL, clone_params, make_params, set_grads,
                            step_side_by_side)

FUSED_CONFIGS = CONFIGS + [{"eps_in_sqrt": True, "centered": True, "momentum": 0.9, "eps": 1e-6}]
FUSED_IDS = IDS + ["eps-in-sqrt-centered-momentum"]


@pytest.fixture
def no_compiler(monkeypatch, tmp_path):
    """A machine without a C compiler: CC points nowhere and the kernel cache is empty."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("RMSPROP_LIB_CACHE", str(tmp_path / "cache"))
    fused._reset_for_tests()
    yield tmp_path / "cache"
    fused._reset_for_tests()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("config", FUSED_CONFIGS, ids=FUSED_IDS)
def test_fused_matches_the_loop_step_by_step(config, dtype):
    start = make_params(dtype)
    ours, loop = clone_params(start), clone_params(start)
    ours_opt = RMSprop(ours, fused=True, **config)
    loop_opt = RMSprop(loop, foreach=False, **config)

    def assert_close_to_loop():
        for p, q in zip(ours, loop):
            torch.testing.assert_close(p, q, **TOL[dtype])
            for key, value in loop_opt.state[q].items():
                torch.testing.assert_close(ours_opt.state[p][key], value, **TOL[dtype])

    step_side_by_side(ours_opt, ours, loop_opt, loop, 7, after_each=assert_close_to_loop)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_matches_torch_on_large_tensors_split_across_threads(dtype):
    n = fused.PARALLEL_THRESHOLD * 3 + 17  # several chunks, a ragged tail
    g = torch.Generator().manual_seed(9)
    start = [torch.randn(n, dtype=dtype, generator=g), torch.randn(301, 7, dtype=dtype, generator=g)]
    ours, theirs = clone_params(start), clone_params(start)
    config = CONFIGS[-1]
    ours_opt = RMSprop(ours, fused=True, **config)
    theirs_opt = torch.optim.RMSprop(theirs, **config)
    for _ in range(3):
        for p, q in zip(ours, theirs):
            p.grad = torch.randn(p.shape, dtype=dtype, generator=g)
            q.grad = p.grad.clone()
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, **TOL[dtype])


def test_fused_handles_a_transposed_parameter_with_matching_gradient_layout():
    base = torch.randn(64, 32, dtype=torch.float64).t()  # dense, not contiguous
    (ours,), (loop,) = clone_params([base]), clone_params([base])
    grad = torch.randn(64, 32, dtype=torch.float64).t()
    ours.grad, loop.grad = grad.clone(), grad.clone()
    assert fused._one_layout([ours, ours.grad])
    RMSprop([ours], fused=True, centered=True).step()
    RMSprop([loop], centered=True).step()
    torch.testing.assert_close(ours, loop, rtol=1e-12, atol=1e-12)


def test_fused_leaves_a_parameter_whose_gradient_has_another_layout_to_the_loop():
    base = torch.randn(64, 32, dtype=torch.float64).t()
    (ours,), (loop,) = clone_params([base]), clone_params([base])
    grad = torch.randn(32, 64, dtype=torch.float64)  # contiguous, unlike the parameter
    ours.grad, loop.grad = grad.clone(), grad.clone()
    assert not fused._one_layout([ours, ours.grad])
    RMSprop([ours], fused=True, momentum=0.5).step()
    RMSprop([loop], momentum=0.5).step()
    assert torch.equal(ours, loop)  # the same per-tensor loop did the work


def test_fused_complex_parameters_equal_torch():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(1000, dtype=torch.complex128, generator=g)
    (ours,), (theirs,) = clone_params([z]), clone_params([z])
    ours_opt, theirs_opt = RMSprop([ours], fused=True, momentum=0.5), torch.optim.RMSprop([theirs], momentum=0.5)
    for _ in range(3):
        ours.grad = torch.randn(1000, dtype=torch.complex128, generator=g)
        theirs.grad = ours.grad.clone()
        ours_opt.step()
        theirs_opt.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_fused_without_a_compiler_fails_clearly_and_leaves_nothing_behind(no_compiler):
    params = [torch.zeros(3, requires_grad=True)]
    with pytest.raises(fused.FusedUnavailableError,
                       match=r"^fused=True needs a C compiler to build the fused RMSprop kernel, "
                             r"and '.*/no-such-cc' was not found \(install gcc or set CC\)"):
        RMSprop(params, fused=True)
    assert not no_compiler.exists() or not list(no_compiler.glob("*.so"))


class Spy:
    """Records how the optimizer's step was carried out, then does it."""

    def __init__(self, monkeypatch):
        self.calls = []
        real_update, real_fused = optimizer.rmsprop_update, fused.fused_update

        def update(*args, foreach, **kwargs):
            self.calls.append("foreach" if foreach else "loop")
            return real_update(*args, foreach=foreach, **kwargs)

        def fused_update(*args, **kwargs):
            self.calls.append("fused")
            return real_fused(*args, **kwargs)

        monkeypatch.setattr(optimizer, "rmsprop_update", update)
        monkeypatch.setattr(fused, "fused_update", fused_update)


def test_default_fuses_when_it_can(monkeypatch):
    spy = Spy(monkeypatch)
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt, theirs_opt = RMSprop(ours), torch.optim.RMSprop(theirs)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 3)
    assert spy.calls == ["fused"] * 3
    assert fused.build_info()["path"].endswith(".so")
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_default_falls_back_to_foreach_without_a_compiler(no_compiler, monkeypatch):
    spy = Spy(monkeypatch)
    start = make_params(torch.float64)
    ours, theirs = clone_params(start), clone_params(start)
    ours_opt, theirs_opt = RMSprop(ours, momentum=0.5), torch.optim.RMSprop(theirs, momentum=0.5)
    step_side_by_side(ours_opt, ours, theirs_opt, theirs, 3)
    assert spy.calls == ["foreach"] * 3
    for p, q in zip(ours, theirs):
        assert torch.equal(p, q)  # the multi-tensor update is the loop's arithmetic
    assert set(fused.build_info()) == {"error"}
    assert "needs a C compiler" in fused.build_info()["error"]
    assert not no_compiler.exists() or not list(no_compiler.glob("*.so"))


def test_default_falls_back_to_foreach_for_a_dtype_the_kernel_lacks(monkeypatch):
    spy = Spy(monkeypatch)
    p = torch.ones(4, dtype=torch.bfloat16, requires_grad=True)
    q = p.detach().clone().requires_grad_()
    p.grad, q.grad = torch.full_like(p, 0.5), torch.full_like(q, 0.5)
    RMSprop([p]).step()
    torch.optim.RMSprop([q]).step()
    assert spy.calls == ["foreach"]
    assert torch.equal(p, q)


@pytest.mark.parametrize("flags, path", [({"foreach": False}, "loop"), ({"foreach": True}, "foreach"),
                                         ({"fused": False}, "loop"), ({"fused": True}, "fused")])
def test_explicit_flags_choose_the_implementation(flags, path, monkeypatch):
    spy = Spy(monkeypatch)
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.ones(3)
    RMSprop([p], **flags).step()
    assert spy.calls == [path]


def test_an_explicit_choice_never_compiles(no_compiler):
    for flags in ({"foreach": False}, {"foreach": True}, {"fused": False}):
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.ones(3)
        RMSprop([p], **flags).step()
    assert fused.build_info() == {}


def test_a_failing_compiler_is_reported_with_its_message(monkeypatch, tmp_path):
    script = tmp_path / "badcc"
    script.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo bad 1.0; exit 0; fi\n"
                      "echo 'error: out of luck' >&2; exit 3\n")
    script.chmod(0o755)
    monkeypatch.setenv("CC", str(script))
    monkeypatch.setenv("RMSPROP_LIB_CACHE", str(tmp_path / "cache"))
    fused._reset_for_tests()
    try:
        with pytest.raises(fused.FusedUnavailableError, match=r"compiling _fused_kernel.c with .*badcc "
                                                              r"failed \(exit 3\): error: out of luck"):
            RMSprop([torch.zeros(1, requires_grad=True)], fused=True)
        assert list((tmp_path / "cache").glob("**/*.so")) == []
    finally:
        fused._reset_for_tests()


def test_an_unwritable_cache_is_a_clear_error_and_the_default_falls_back(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("RMSPROP_LIB_CACHE", str(blocker / "cache"))
    fused._reset_for_tests()
    try:
        with pytest.raises(fused.FusedUnavailableError,
                           match=r"^fused=True: the fused RMSprop kernel could not be built or loaded: "
                                 r".*a-file/cache.*RMSPROP_LIB_CACHE"):
            RMSprop([torch.zeros(1, requires_grad=True)], fused=True)
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.ones(3)
        RMSprop([p]).step()  # fused=None: falls back, no error
        assert "could not be built or loaded" in fused.build_info()["error"]
    finally:
        fused._reset_for_tests()


def test_a_compiler_without_openmp_still_builds_a_serial_kernel(monkeypatch, tmp_path):
    script = tmp_path / "cc-without-openmp"
    script.write_text("#!/bin/sh\n"
                      "for arg in \"$@\"; do\n"
                      "  if [ \"$arg\" = -fopenmp ]; then echo 'unsupported: -fopenmp' >&2; exit 1; fi\n"
                      f"done\nexec {shutil.which('cc') or shutil.which('gcc')} \"$@\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("CC", str(script))
    monkeypatch.setenv("RMSPROP_LIB_CACHE", str(tmp_path / "cache"))
    fused._reset_for_tests()
    try:
        n = fused.PARALLEL_THRESHOLD * 2 + 5
        start = [torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))]
        ours, theirs = clone_params(start), clone_params(start)
        ours[0].grad, theirs[0].grad = torch.ones(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
        RMSprop(ours, fused=True, centered=True).step()
        torch.optim.RMSprop(theirs, centered=True).step()
        assert fused.build_info()["openmp"] is False
        torch.testing.assert_close(ours[0], theirs[0], rtol=1e-12, atol=1e-12)
    finally:
        fused._reset_for_tests()


def test_the_parallel_kernel_shares_torchs_openmp_runtime():
    fused.load_kernel()
    assert fused.build_info()["openmp"] is True
    with open("/proc/self/maps") as maps:
        runtimes = {line.split()[-1] for line in maps if "libgomp" in line}
    assert len(runtimes) == 1, runtimes  # one OpenMP runtime in the process: torch's


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fused_rejects_unsupported_dtypes_naming_the_parameter(dtype):
    params = [torch.zeros(2, requires_grad=True), torch.zeros(2, dtype=dtype, requires_grad=True)]
    with pytest.raises(fused.FusedUnavailableError,
                       match=rf"^fused=True: parameter 1 of group 0 is {dtype}; the fused kernel supports float32"):
        RMSprop(params, fused=True)


def test_fused_rejects_another_device_and_the_default_falls_back(monkeypatch):
    p = torch.zeros(2, device="meta", requires_grad=True)
    with pytest.raises(fused.FusedUnavailableError,
                       match=r"^fused=True: parameter 0 of group 0 is on meta; the fused kernel runs on CPU only$"):
        RMSprop([p], fused=True)
    spy = Spy(monkeypatch)
    p.grad = torch.ones(2, device="meta")
    RMSprop([p]).step()
    assert spy.calls == ["foreach"]


def test_fused_and_foreach_together_is_an_error():
    with pytest.raises(ValueError, match=r"^`fused` and `foreach` cannot be `True` together\.$"):
        RMSprop([torch.zeros(1, requires_grad=True)], fused=True, foreach=True)


def test_a_rejected_param_group_is_not_added():
    opt = RMSprop([torch.zeros(1, requires_grad=True)], fused=True)
    with pytest.raises(fused.FusedUnavailableError):
        opt.add_param_group({"params": [torch.zeros(1, dtype=torch.float16, requires_grad=True)]})
    assert len(opt.param_groups) == 1


def test_the_built_kernel_is_cached_on_disk(tmp_path):
    code = ("import torch, rmsprop_lib; rmsprop_lib.RMSprop([torch.zeros(1, requires_grad=True)], fused=True); "
            "from rmsprop_lib import fused; print(fused.build_info()['cached'])")
    env = dict(os.environ, RMSPROP_LIB_CACHE=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            .stdout.strip() for _ in range(2)]
    assert runs == ["False", "True"]
    assert len(list(tmp_path.glob("*.so"))) == 1


def test_fused_state_dict_loads_into_torch_and_continues_identically():
    start = make_params(torch.float64)
    params, reference = clone_params(start), clone_params(start)
    ours = RMSprop(params, fused=True, momentum=0.5)
    ref = torch.optim.RMSprop(reference, momentum=0.5)
    for step in range(2):
        set_grads(params, step)
        set_grads(reference, step)
        ours.step()
        ref.step()
    theirs = torch.optim.RMSprop(params, momentum=0.5)
    theirs.load_state_dict(ours.state_dict())
    for step in range(2, 4):
        set_grads(params, step)
        set_grads(reference, step)
        theirs.step()
        ref.step()
    for p, q in zip(params, reference):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)
