"""Developer tasks: `nox -s tests`, `nox -s lint`, `nox -s docs`, `nox -s bench`, `nox -s demo`."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite, against embedded API servers it starts itself."""
    session.install("-e", ".[dev]")
    # One worker per core: the tests wait on conditions, never on a quiet machine.
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict on the package, its examples and tests, and the layering contracts."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "controllerkit", "examples", "tests", "benchmarks", "scripts",
                "noxfile.py")
    session.run("mypy", "tests", "controllerkit", "examples", "scripts")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    session.install("-e", ".[dev]")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(session.create_tmp() + "/site"))


BENCHMARKS = (
    "benchmarks.apiserver", "benchmarks.workqueue", "benchmarks.informer", "benchmarks.ha",
    "benchmarks.controller",
)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark program; each prints its figures (medians over repetitions).

    Arguments after `--` go to each program, e.g. `nox -s bench -- --quick`.
    """
    session.install("-e", ".[dev]")
    for module in BENCHMARKS:
        if Path(*module.split(".")).with_suffix(".py").exists():
            session.run("python", "-m", module, *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The embedded API server driven by kubectl; the GitTarget controller mirroring objects
    into a git repository, its conditions progressing to Ready; the SpritzBinding controller
    replacing a runtime through its internal API."""
    session.install("-e", ".[examples]")
    session.run("python", "-m", "examples.demo", *session.posargs)
    session.run("python", "-m", "examples.gittarget.demo")
    session.run("python", "-m", "examples.binding.demo")
