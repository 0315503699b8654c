"""The desktop bundle's inputs: the .desktop entry, the PyInstaller spec's references, the
licence notes (kept honest against the installed PyAV/FFmpeg/Qt), and the window probe that
packaging/check_bundle.sh relies on (run here against a real offscreen Qt window)."""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import av

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
LICENSES = (PACKAGING / "THIRD_PARTY_LICENSES.md").read_text(encoding="utf-8")


def test_desktop_entry_is_valid_and_launches_the_installed_command() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(PACKAGING / "linux" / "medispecs-desktop.desktop", encoding="utf-8")
    main = entry["Desktop Entry"]
    assert main["Type"] == "Application"
    assert main["Name"] == "MediSpecs Desktop"
    assert main["Terminal"] == "false"
    assert main["Categories"].endswith(";")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = pyproject["project"]["scripts"]
    assert main["Exec"].split()[0] in scripts  # the console script pip installs
    assert main["TryExec"] in scripts
    # The CLI takes no file arguments: no %f/%F/%u field codes.
    assert "%" not in main["Exec"]
    assert main["Icon"] == "medispecs-desktop"  # installed from resources/icons/app.svg
    assert (ROOT / "resources" / "icons" / "app.svg").is_file()
    for action in main["Actions"].strip(";").split(";"):
        section = entry[f"Desktop Action {action}"]
        assert section["Exec"].split()[0] in scripts


def test_spec_references_existing_files() -> None:
    spec = (PACKAGING / "medispecs-desktop.spec").read_text(encoding="utf-8")
    assert 'ROOT / "medispecs_desktop" / "__main__.py"' in spec
    assert (ROOT / "medispecs_desktop" / "__main__.py").is_file()
    assert 'ROOT / "resources"' in spec and (ROOT / "resources").is_dir()
    assert 'ROOT / "packaging" / "bundle_probe.py"' in spec
    assert "PySide6.QtMultimedia" in spec and "PySide6.QtMultimediaWidgets" in spec
    compile(spec, "medispecs-desktop.spec", "exec")  # valid Python
    for script in ("build_app.sh", "check_bundle.sh"):
        text = (PACKAGING / script).read_text(encoding="utf-8")
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
        assert os.access(PACKAGING / script, os.X_OK)
        result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True)
        assert result.returncode == 0, result.stderr


def _licenses_module() -> Any:
    spec = importlib.util.spec_from_file_location("licenses", PACKAGING / "licenses.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("licenses", module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["licenses"])
    return sys.modules["licenses"]


def test_licence_notes_list_exactly_the_locked_packages() -> None:
    """The package table is the lock's app + demo closure, every locked version, nothing else;
    ``licenses.py --check`` (what CI's reviewers run) agrees."""
    licenses = _licenses_module()
    block = licenses.current_block(LICENSES)
    locked = {(p.name, p.version) for ps in licenses.groups().values() for p in ps}
    assert licenses.versions_in(block) == locked
    names = {n for n, _ in locked}
    assert {"pyside6-essentials", "av", "boto3", "awscrt", "moto", "numpy"} <= names
    # moto's server extras the app never uses stay out of what it ships
    assert not names & {"docker", "cfn-lint", "sympy", "networkx", "aws-xray-sdk"}
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "licenses.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_licence_check_fails_when_the_lock_moves(tmp_path: Path) -> None:
    licenses = _licenses_module()
    block = licenses.current_block(LICENSES)
    boto3_version = metadata.version("boto3")
    moved = block.replace(f"| boto3 | {boto3_version} |", "| boto3 | 0.0.1 |")
    assert moved != block
    assert licenses.versions_in(moved) != licenses.versions_in(block)


def test_installed_environment_is_the_locked_one() -> None:
    """bootstrap installs from the lock: what runs the tests is what the notes list."""
    licenses = _licenses_module()
    pairs = {(p.name, p.version) for p in licenses.export("--no-dev", "--extra", "demo")}
    names = {n for n, _ in pairs}
    for name in ("pyside6-essentials", "av", "boto3", "moto", "numpy", "awscrt", "platformdirs"):
        assert name in names
        assert (name, metadata.version(name)) in pairs, f"{name} {metadata.version(name)}"


def test_licence_notes_match_the_installed_media_stack() -> None:
    # PyAV: version, its FFmpeg version, and the GPL encoders its wheel links.
    assert f"av {av.__version__}" in LICENSES or f"PyAV {av.__version__}" in LICENSES
    assert str(av.ffmpeg_version_info) in LICENSES
    libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    if libs.is_dir():
        shipped = {re.sub(r"-[0-9a-f]{8}\.so.*$", "", p.name) for p in libs.iterdir()}
        for gpl in ("libx264", "libx265"):
            if gpl in shipped:
                assert gpl in LICENSES and "GPL-2.0-or-later" in LICENSES
    assert "LGPL-3.0-only" in LICENSES


def _probe(tmp_path: Path, extra_env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "windows.json"
    app = (
        "import runpy, sys\n"
        f"runpy.run_path({str(PACKAGING / 'bundle_probe.py')!r})\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow, QDialog\n"
        "app = QApplication([])\n"
        "w = QMainWindow(); w.setWindowTitle('MediSpecs Desktop'); w.resize(800, 600); w.show()\n"
        "d = QDialog(w); d.setWindowTitle('Sign in'); d.show()\n"
        "sys.exit(app.exec())\n"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QT_LOGGING_RULES": "qt.multimedia.*=false",
        "MEDISPECS_BUNDLE_PROBE": str(report),
        "MEDISPECS_BUNDLE_PROBE_TIMEOUT": "30",
        **extra_env,
    }
    result = subprocess.run(
        [sys.executable, "-c", app], env=env, capture_output=True, text=True, timeout=90
    )
    assert report.exists(), result.stderr
    return result.returncode, json.loads(report.read_text(encoding="utf-8"))


def test_window_probe_reports_the_main_window_and_quits(tmp_path: Path) -> None:
    code, report = _probe(tmp_path, {})
    assert code == 0
    main = [w for w in report["windows"] if w["main_window"]]
    assert main and main[0]["title"] == "MediSpecs Desktop"
    assert main[0]["width"] == 800
    assert "media" not in report


def test_window_probe_plays_a_real_clip_through_qt_multimedia(
    tmp_path: Path, make_video: Callable[..., Path]
) -> None:
    clip = make_video("probe.mp4", seconds=1, width=320, height=240)
    code, report = _probe(tmp_path, {"MEDISPECS_BUNDLE_PROBE_MEDIA": str(clip)})
    assert code == 0, report
    assert report["media"]["played"] is True
    assert (report["media"]["width"], report["media"]["height"]) == (320, 240)


def test_window_probe_reports_a_broken_clip(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    code, report = _probe(
        tmp_path,
        {"MEDISPECS_BUNDLE_PROBE_MEDIA": str(broken), "MEDISPECS_BUNDLE_PROBE_TIMEOUT": "10"},
    )
    assert code == 4
    assert report["media"]["played"] is False and report["media"]["error"]


def test_window_probe_is_inert_without_its_variable(tmp_path: Path) -> None:
    app = (
        "import runpy\n"
        f"runpy.run_path({str(PACKAGING / 'bundle_probe.py')!r})\n"
        "from PySide6.QtWidgets import QApplication\n"
        "print(QApplication.exec.__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MEDISPECS_BUNDLE_PROBE"}
    result = subprocess.run(
        [sys.executable, "-c", app], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exec"


def test_linux_install_and_uninstall_for_one_user(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "medispecs-desktop"
    exe.write_text("#!/bin/sh\necho medispecs-desktop 0.1.0\n", encoding="utf-8")
    exe.chmod(0o755)
    home = tmp_path / "home"
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "XDG_DATA_HOME": str(home / "data")}
    script = str(PACKAGING / "linux" / "install.sh")

    done = subprocess.run(["bash", script, str(bundle)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    installed = home / ".local" / "opt" / "medispecs-desktop" / "medispecs-desktop"
    link = home / ".local" / "bin" / "medispecs-desktop"
    assert link.resolve() == installed.resolve()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout.startswith(
        "medispecs-desktop"
    )
    entry = (home / "data" / "applications" / "medispecs-desktop.desktop").read_text()
    assert f"Exec={installed}\n" in entry and f"Exec={installed} --local\n" in entry
    assert (home / "data/icons/hicolor/scalable/apps/medispecs-desktop.svg").is_file()

    again = subprocess.run(["bash", script, str(bundle)], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # reinstall/upgrade in place

    gone = subprocess.run(["bash", script, "--uninstall"], env=env, capture_output=True, text=True)
    assert gone.returncode == 0, gone.stderr
    assert not installed.exists() and not link.is_symlink()
    assert not (home / "data" / "applications" / "medispecs-desktop.desktop").exists()


def test_linux_install_refuses_a_missing_bundle(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    script = str(PACKAGING / "linux" / "install.sh")
    result = subprocess.run(
        ["bash", script, str(tmp_path / "nope")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "no bundle" in result.stderr
    assert not (tmp_path / ".local" / "bin").exists()


def test_collect_licenses_copies_the_bundled_distributions_licences(tmp_path: Path) -> None:
    """Against a table of contents shaped like PyInstaller's (PYZ-00.toc / COLLECT-00.toc)."""
    build, app = tmp_path / "build", tmp_path / "app"
    build.mkdir()
    pyz = (
        str(build / "PYZ-00.pyz"),
        [
            ("boto3", "/x/boto3/__init__.py", "PYMODULE"),
            ("boto3.session", "/x/boto3/session.py", "PYMODULE"),
            ("jmespath", "/x/jmespath/__init__.py", "PYMODULE"),
            ("json", "/usr/lib/python3.11/json/__init__.py", "PYMODULE"),  # stdlib: no distribution
        ],
    )
    collect = (
        [
            ("av.libs/libx264-d6533a8d.so.165", "/x/av.libs/libx264.so", "BINARY"),
            ("av/__init__.py", "/x/av/__init__.py", "DATA"),
        ],
    )
    (build / "PYZ-00.toc").write_text(repr(pyz), encoding="utf-8")
    (build / "COLLECT-00.toc").write_text(repr(collect), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "collect_licenses.py"), str(build), str(app)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    index = (app / "licenses" / "INDEX.md").read_text(encoding="utf-8")
    for name in ("boto3", "jmespath", "av"):
        version = metadata.version(name)
        assert f"| {name} | {version} |" in index
        folder = app / "licenses" / f"{name}-{version}"
        assert folder.is_dir() and any(folder.iterdir()), name
    assert "| boto3 | " in index and "Apache-2.0" in index
    rows = [line for line in index.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 3  # the table's header + three distributions (no stdlib row)


def test_collect_licenses_refuses_a_missing_build(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "collect_licenses.py"),
            str(tmp_path / "no"),
            str(tmp_path / "app"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "no table of contents" in result.stderr
