"""The one test matrix: lint, typecheck, package, and tests over Python x Django (x PostgreSQL).

`make test` (and so CI) runs every session here; `nox -s tests` runs the matrix alone, and
`nox -l` lists the sessions. pytest turns warnings into errors (pyproject's filterwarnings).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.10.14"  # the first with download_python
nox.options.default_venv_backend = "virtualenv"
nox.options.error_on_external_run = True

ROOT = Path(__file__).resolve().parent

# Tools whose output changes between releases are pinned, so a new release cannot break CI overnight.
RUFF = "ruff==0.17.6"
MYPY = ("mypy==2.4.1", "django-stubs==6.1.2")
TEST_DEPS = (
    "pytest>=8",
    "pytest-django>=4.9",
    "pytest-asyncio>=0.24",  # async def tests of the stores
    "hypothesis",
    "requests",
    "gunicorn",
    "uvicorn",
    "psycopg[binary]>=3.1",
    "redis",  # Django's Redis cache backend: the authorization cache shared by workers
    "slack_bolt",  # the oracle: Bolt's own adapter lives in slack_bolt.adapter.django
    "selenium",  # tests/test_browser.py drives Chromium (.ci/run installs it)
    # The benchmark's stores part, run by tests/test_bench_smoke.py: slack_sdk's SQLAlchemy store is
    # its comparison (its module imports SQLAlchemy's asyncio side, which needs greenlet).
    "sqlalchemy",
    "greenlet",
)
PACKAGE_EXTRAS = ".[postgres,pytest,async]"
# Passed to the tests, so that the tests marked `postgres` run against that server.
POSTGRES_ENV = "DJANGO_SLACK_BOLT_TEST_POSTGRES"

# (Python, Django): every supported Django on a Python it supports, oldest with oldest.
MATRIX = (
    ("3.10", "4.2"),
    ("3.11", "5.2"),
    ("3.12", "6.0"),
    ("3.13", "6.1"),
)
# The newest Django line is tested at its latest release, whatever the minor.
LATEST_DJANGO = MATRIX[-1][1]


def _django_requirement(series: str) -> str:
    major, minor = (int(part) for part in series.split("."))
    if series == LATEST_DJANGO:
        return f"Django>={major}.{minor},<{major + 1}"
    return f"Django>={major}.{minor},<{major}.{minor + 1}"


def _reports_version(executable: str, version: str) -> bool:
    """Whether `executable` runs and is CPython `version` (a broken pyenv shim exits non-zero)."""
    probe = (
        "import sys, sysconfig; "
        "print('%d.%d' % sys.version_info[:2], sysconfig.get_config_var('Py_GIL_DISABLED') or 0)"
    )
    try:
        done = subprocess.run(
            [executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.split() == [version, "0"]


def _pyenv_candidates(version: str) -> list[str]:
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    found: list[tuple[tuple[int, ...], str]] = []
    for root in dict.fromkeys(r for r in roots if r):
        for path in glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")):
            patch = os.path.basename(os.path.dirname(os.path.dirname(path)))
            if re.fullmatch(r"\d+\.\d+\.\d+", patch):  # skip 3.13.0t, 3.12-dev and the like
                found.append((tuple(int(p) for p in patch.split(".")), path))
    return [path for _, path in sorted(found, reverse=True)]


def find_python(version: str) -> str:
    """A path to a working python`version`, preferring pyenv's real binaries over its shims.

    `shutil.which("python3.12")` can return a pyenv shim that fails unless PYENV_VERSION names
    that version, so the binaries under $PYENV_ROOT/versions come first. When nothing works the
    bare version is returned: nox then reports the interpreter missing, which skips the session
    locally and fails it in CI (nox errors on missing interpreters when CI is set).
    """
    for candidate in [*_pyenv_candidates(version), shutil.which(f"python{version}")]:
        if candidate and _reports_version(candidate, version):
            return candidate
    return version


def _install_package(session: nox.Session, *extra: str) -> None:
    session.install("-e", PACKAGE_EXTRAS, *extra)


def _existing(*names: str) -> list[str]:
    return [name for name in names if (ROOT / name).exists()]


@nox.session(download_python="never")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the source directories that exist."""
    session.install(RUFF)
    paths = _existing("src", "tests", "bench", "example", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(download_python="never")
def typecheck(session: nox.Session) -> None:
    """mypy, strict on the package (config in pyproject); tests.settings must import for django-stubs."""
    _install_package(session, *MYPY, *TEST_DEPS)
    session.run("mypy", *session.posargs)


@nox.session(download_python="never")
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, check the wheel's contents, and import it from a fresh venv."""
    session.install("build")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # python -m build makes the sdist, then the wheel from the sdist: both must build.
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT), silent=True)
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in {dist}, found {[p.name for p in dist.iterdir()]}")
    wheel = wheels[0]

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    # Every package file (templates, static files, py.typed, ...) must ship, and nothing else.
    source = ROOT / "src"
    expected = {
        path.relative_to(source).as_posix()
        for path in (source / "django_slack_bolt").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }
    required = {"django_slack_bolt/py.typed", "django_slack_bolt/testing/__init__.py"}
    missing = sorted((expected | required) - names)
    if missing:
        session.error(f"{wheel.name} lacks {missing}")
    stray = sorted(n for n in names if not n.startswith(("django_slack_bolt/", "django_slack_bolt-")))
    if stray:
        session.error(f"{wheel.name} ships files outside the package: {stray}")
    session.log(f"{wheel.name}: {len(names)} files, py.typed and the testing package included")

    # A fresh venv with the wheel alone (and its dependencies), away from the source tree.
    venv = Path(session.create_tmp()) / "wheel-venv"
    shutil.rmtree(venv, ignore_errors=True)
    session.run("python", "-m", "venv", str(venv))
    bin_dir = venv / "bin"
    session.run(str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel), external=True)
    session.run(
        str(bin_dir / "python"),
        "-c",
        "import django_slack_bolt, django_slack_bolt.testing; "
        "assert '/site-packages/' in django_slack_bolt.__file__, django_slack_bolt.__file__; "
        "print('imported django_slack_bolt', django_slack_bolt.__version__, 'from the wheel')",
        external=True,
        env={"PYTHONPATH": ""},
    )


def _has_tests() -> bool:
    tests = ROOT / "tests"
    return any(tests.rglob("test_*.py")) or any(tests.rglob("*_test.py"))


@nox.session(download_python="never")
@nox.parametrize(
    ("python", "django"),
    [(find_python(py), dj) for py, dj in MATRIX],
    ids=[f"{py}-django{dj}" for py, dj in MATRIX],
)
def tests(session: nox.Session, django: str) -> None:
    """pytest on one (Python, Django); with DJANGO_SLACK_BOLT_TEST_POSTGRES set, the postgres tests too."""
    session.log(f"interpreter: {session.python}")
    _install_package(session, *TEST_DEPS, _django_requirement(django))
    versions = "import django, sys; print('Python', sys.version.split()[0], 'Django', django.__version__)"
    session.run("python", "-c", versions, silent=False)
    if not os.environ.get(POSTGRES_ENV):
        session.log(f"{POSTGRES_ENV} is not set: the tests marked postgres will skip")
    # While the suite has no test files yet, pytest's "no tests collected" (5) is not a failure.
    success_codes = [0] if _has_tests() else [0, 5]
    # `python -m pytest` puts the repository root on sys.path, so `tests.settings` imports.
    session.run(
        "python",
        "-m",
        "pytest",
        *session.posargs,
        env={POSTGRES_ENV: os.environ.get(POSTGRES_ENV, "")},
        success_codes=success_codes,
    )
