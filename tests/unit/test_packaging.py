"""The built wheel is the product: it carries the shipped workflows and every data file, and an
``aims`` installed from it works from any directory, with nothing of the checkout on its path.

The wheel is built from a copy of the sources (pyproject.toml, README.md, src/, workflows/), so a
stale ``build/`` folder in the checkout cannot hide a missing file. Installing it into a fresh
virtual environment fetches the dependencies through pip's cache; the test takes a minute or
two, most of it pip resolving and unpacking the dependencies, and the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "aims_workflows"
SHIPPED = sorted(p.name for p in (ROOT / "workflows").glob("*.yaml"))


def test_the_package_reads_the_top_level_workflows_folder():
    """``aims_workflows/workflows`` is a link to ``workflows/``: one copy of every definition."""
    from aims_workflows.app import shipped_workflows_dir

    link = PACKAGE / "workflows"
    assert link.is_symlink() and link.resolve() == (ROOT / "workflows").resolve()
    assert shipped_workflows_dir() == (ROOT / "workflows").resolve()
    assert len(SHIPPED) >= 7


def _data_files() -> set[str]:
    """Every file of the source package that is not Python bytecode, the link followed."""
    found = set()
    for folder, dirs, files in os.walk(PACKAGE, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                found.add((Path(folder) / name).relative_to(PACKAGE.parent).as_posix())
    return found


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", symlinks=True, ignore=skip)
    shutil.copytree(ROOT / "workflows", source / "workflows")
    out = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("aims_workflows-*.whl")
    return wheel


def _clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points into the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIMS_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(COLUMNS="250", NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.mark.slow
def test_the_built_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    wheel = _build_wheel(tmp_path)

    # 1. what the wheel carries: every data file, the workflows as copies of workflows/
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = sorted(_data_files() - names)
        assert not missing, f"files of the package missing from the wheel: {missing}"
        for name in SHIPPED:
            carried = archive.read(f"aims_workflows/workflows/{name}")
            assert carried == (ROOT / "workflows" / name).read_bytes(), name
    for data in ("catalog/iso42001.yaml", "store/migrations/script.py.mako", "py.typed"):
        assert f"aims_workflows/{data}" in names

    # 2. a fresh environment, outside the checkout
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    # no pip of its own: this process's pip installs into it (and its cache is reused);
    # no bytecode compiled ahead: the commands below compile what they import
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True
    )
    python, aims = venv / "bin" / "python", venv / "bin" / "aims"
    env = _clean_environment(AIMS_DATABASE_URL=f"sqlite:///{work / 'aims.db'}")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-compile", str(wheel)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*args], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )

    where = run(
        str(python),
        "-c",
        "import sys, aims_workflows\n"
        "from aims_workflows.app import shipped_workflows_dir\n"
        "print(aims_workflows.__file__)\n"
        "print(shipped_workflows_dir())\n"
        "print('\\n'.join(sys.path))",
    )
    assert where.returncode == 0, where.stderr
    module, shipped, *path = where.stdout.splitlines()
    assert Path(module).is_relative_to(venv) and Path(shipped).is_relative_to(venv)
    assert not [p for p in path if p and Path(p).resolve().is_relative_to(ROOT)]

    # 3. aims workflows: the shipped workflows, found as package data
    listed = run(str(aims), "workflows")
    assert listed.returncode == 0, listed.stderr
    for name in SHIPPED:
        assert Path(name).stem in listed.stdout, (name, listed.stdout)

    # 4. aims validate on the shipped files as installed
    validated = run(str(aims), "validate", shipped)
    assert validated.returncode == 0, validated.stderr
    assert f"{len(SHIPPED)} workflow(s) valid" in validated.stdout
    assert validated.stdout.count(shipped) == len(SHIPPED)

    # 5. aims demo, on its own database in the temporary folder (never AIMS_DATABASE_URL's)
    demo = run(str(aims), "demo")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert f"{len(SHIPPED)} workflows, database sqlite:///aims-demo.db" in demo.stdout
    assert "evidence chain verified" in demo.stdout
    assert "Traceback" not in demo.stdout + demo.stderr
    assert (work / "aims-demo.db").stat().st_size > 0
    assert not (work / "aims.db").exists()

    # 6. README's "Using it for real", every command in order, in a fresh empty directory with
    # the installed `aims` on PATH and no AIMS_* settings
    from readme_path import fill_answers, inventory_csv, placeholders, steps

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "systems.csv").write_text(inventory_csv(), encoding="utf-8")
    path_env = _clean_environment(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    path_env["COLUMNS"] = "80"
    ids: dict[str, str] = {}

    def aims_here(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["aims", *args], cwd=fresh, env=path_env, capture_output=True, text=True, timeout=600
        )

    for step in steps():
        if step.argv[0] == "$EDITOR":
            if step.argv[1] == "answers.yaml":
                fill_answers(fresh / "answers.yaml")
            continue
        done = aims_here(*placeholders(step.argv[1:], ids))
        assert done.returncode == 0, (step.line, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stdout + done.stderr
        if step.redirect:
            (fresh / step.redirect).write_text(done.stdout, encoding="utf-8")
        if step.argv[1:3] == ["runs", "list"]:
            runs = json.loads(aims_here("runs", "list", "--format", "json").stdout)
            ids["RUN-ID"] = next(r["run"] for r in runs if r["workflow"].startswith("ai-risk"))
        if step.argv[1:3] == ["approvals", "list"]:
            (pending,) = json.loads(aims_here("approvals", "list", "--format", "json").stdout)
            ids["APPROVAL-ID"] = pending["approval"]
        if step.argv[1] == "validate":
            assert f"{len(SHIPPED)} workflow(s) valid" in done.stdout
            assert str(Path(shipped)) not in str(ROOT)  # the package's copies, not the checkout's
    assert "status: completed" in done.stdout  # README's last command: the run's timeline
