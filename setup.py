"""The compiled part of the package: the map's scanner, a C extension built at install (``make setup``).

Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "aqstudy.kernel._scanner",
    sources=["src/aqstudy/kernel/_scanner.c"],
    # Generic code for the target's baseline CPU (no -march=native): the same build runs on any Lambda host.
    # No fast-math: the scanner's doubles must be exactly what a correctly rounded parse gives.
    extra_compile_args=["-O3", "-std=c11", "-fno-fast-math", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-Wno-missing-field-initializers"],
)])
