"""Build the fused RMSprop kernel with the package (the rest of the metadata: pyproject.toml).

``rmsprop_lib/_fused_kernel.c`` is compiled when the package is built, by ``pip install .``,
``pip install -e .`` or ``pip wheel .``, into ``rmsprop_lib/_fused_kernel<suffix>.so`` beside
the package's Python files, which loads it with ``ctypes`` (it is a plain C library, not a
Python module). The extension is optional: without a working C compiler the install still
succeeds, without the kernel, and ``fused=True`` then says how to get it.

Flags as the kernel needs them: ``-ffp-contract=off`` so that no multiply-add is fused behind
the formula's back, ``-march=native`` (the library is built for the machine that builds it),
and ``-fopenmp``, which links ``libgomp.so.1``: inside a torch process that is torch's own
OpenMP runtime. A compiler that refuses ``-fopenmp`` (or ``-march=native``) gets the flags
without it, so it still builds a serial kernel. The SHA-256 of the source is compiled into the
library, so that a checkout whose ``_fused_kernel.c`` changed since the build refuses the
stale kernel instead of running it (see ``rmsprop_lib/_kernel.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, LinkError

SOURCE = "rmsprop_lib/_fused_kernel.c"
BASE = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c11"]
# Tried in order; the first that compiles and links is kept.
ATTEMPTS = [
    (["-march=native", "-fopenmp"], ["-fopenmp"]),
    (["-march=native"], []),
    ([], []),
]


class BuildKernel(build_ext):
    """``build_ext`` that records the source's digest and falls back to fewer flags."""

    def build_extension(self, ext: Extension) -> None:
        digest = hashlib.sha256(Path(SOURCE).read_bytes()).hexdigest()
        ext.define_macros = [("RMSPROP_SOURCE_SHA256", f'"{digest}"')]
        error: Exception | None = None
        for compile_flags, link_flags in ATTEMPTS:
            ext.extra_compile_args = BASE + compile_flags
            ext.extra_link_args = link_flags
            try:
                super().build_extension(ext)
                return
            except (CCompilerError, CompileError, LinkError) as failure:
                error = failure
                self.force = True  # the next attempt must not find this one's objects current
        assert error is not None
        raise error  # optional=True: setuptools reports it and installs without the kernel


setup(
    ext_modules=[Extension("rmsprop_lib._fused_kernel", [SOURCE], libraries=["m"], optional=True)],
    cmdclass={"build_ext": BuildKernel},
)
