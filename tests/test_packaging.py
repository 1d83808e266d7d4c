"""The sdist and the wheel build, install into a fresh virtual environment
and run there."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        **kw,  # type: ignore[arg-type]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, ROOT)
    return out


def test_the_wheel_holds_the_package_and_complete_metadata(dist: Path):
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
        entry_points = archive.read(
            metadata_name.replace("METADATA", "entry_points.txt")
        ).decode()

    assert "powsoo_cli/sandbox/app.py" in names
    assert "powsoo_cli/py.typed" in names
    for field in (
        "Summary:",
        "License-Expression: MIT",
        "Project-URL:",
        "Classifier:",
        "Requires-Python: >=3.10",
    ):
        assert field in metadata
    assert "powsoo = powsoo_cli.__main__:main" in entry_points


def test_the_sdist_holds_sources_tests_and_completions(dist: Path):
    sdist = next(dist.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}

    assert {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "powsoo_cli/cli.py",
        "completions/powsoo.bash",
        "tests/conftest.py",
    } <= names


def test_the_wheel_installs_and_runs_in_a_fresh_virtual_environment(
    dist: Path, tmp_path: Path
):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    bin_dir = environment / ("Scripts" if sys.platform == "win32" else "bin")
    wheel = next(dist.glob("*.whl"))

    run(bin_dir / "python", "-m", "pip", "install", "-q", wheel)
    version = run(bin_dir / "powsoo", "--version")
    config = run(
        bin_dir / "powsoo",
        "--env",
        "sandbox",
        "get-config",
        "wid_demo",
        "--origin",
        "https://shop.example",
        "--json",
    )

    from powsoo_cli import __version__

    assert version.stdout.strip() == f"powsoo {__version__}"
    assert '"platform": "retell"' in config.stdout
