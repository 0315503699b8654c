#!/usr/bin/env python3
"""Build the deployment zip of the ``videos-handler`` Lambda.

    python packaging/build_lambda.py            # -> packaging/out/videos-handler.zip
    python packaging/build_lambda.py -o X.zip   # somewhere else

The zip holds only what runs on Lambda:

* ``medispecs_desktop/backend/**`` (its ``.py`` files and ``openapi.yaml``), the Lambda code;
* ``videos_handler.py``, a one-line shim at the top level so the function's handler is
  ``videos_handler.lambda_handler`` (the name the setup guide uses). The full path
  ``medispecs_desktop.backend.handler.lambda_handler`` works as well.

``medispecs_desktop/__init__.py`` is deliberately *not* shipped: ``medispecs_desktop`` becomes a
namespace package on Lambda, so nothing of the desktop app (core, ui, local, cli) can be
imported there by accident.

* boto3 and its dependencies (``LAMBDA_DISTRIBUTIONS``) at exactly the lock file's versions,
  copied from the build environment (which ``packaging/bootstrap.sh`` installs from the same
  lock; the build refuses a version that differs). The function's code directory comes first on
  the Lambda runtime's ``sys.path``, so the function never depends on the runtime's own boto3
  (with boto3 1.35, whose botocore rejects ``request_checksum_calculation``, every S3 route
  failed). The build is reproducible: entries are sorted and carry a
fixed timestamp, so the same sources give byte-identical zips (and SAM sees no change).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "medispecs_desktop" / "backend"
DEFAULT_OUTPUT = ROOT / "packaging" / "out" / "videos-handler.zip"

HANDLER = "videos_handler.lambda_handler"
FULL_HANDLER = "medispecs_desktop.backend.handler.lambda_handler"
SHIM_NAME = "videos_handler.py"
SHIM = '''"""Lambda entry point: Handler = videos_handler.lambda_handler (built by
packaging/build_lambda.py; the code lives in medispecs_desktop/backend/)."""

from medispecs_desktop.backend.handler import lambda_handler

__all__ = ["lambda_handler"]
'''

INCLUDE_SUFFIXES = (".py", ".yaml", ".json")
LOCK = ROOT / "uv.lock"
LAMBDA_DISTRIBUTIONS = (
    "boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",
)
FIXED_DATE = (2020, 1, 1, 0, 0, 0)  # zip cannot store dates before 1980; any fixed one will do


class BuildError(RuntimeError):
    """The backend sources are missing or unusable."""


def backend_files(backend: Path = BACKEND) -> Iterator[tuple[str, Path]]:
    """(name in the zip, source path) for every file the Lambda needs, sorted."""
    if not (backend / "handler.py").is_file():
        raise BuildError(f"{backend / 'handler.py'} not found: is the backend checked out?")
    found: list[tuple[str, Path]] = []
    for path in backend.rglob("*"):
        rel = path.relative_to(backend)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix not in INCLUDE_SUFFIXES:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        found.append(("medispecs_desktop/backend/" + rel.as_posix(), path))
    yield from sorted(found)


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """name -> version in uv.lock for each of ``LAMBDA_DISTRIBUTIONS`` (one version each)."""
    data = tomllib.loads(lock.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for package in data["package"]:
        if package["name"] in LAMBDA_DISTRIBUTIONS:
            found.setdefault(package["name"], set()).add(package["version"])
    versions: dict[str, str] = {}
    for name in LAMBDA_DISTRIBUTIONS:
        got = found.get(name, set())
        if len(got) != 1:
            raise BuildError(f"uv.lock must hold exactly one version of {name}, has {sorted(got)}")
        versions[name] = got.pop()
    return versions


def vendored_files(lock: Path = LOCK) -> Iterator[tuple[str, Path]]:
    """(name in the zip, source path) of every file of the locked boto3 distributions."""
    found: list[tuple[str, Path]] = []
    for name, version in locked_versions(lock).items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise BuildError(f"{name} is not installed: run bash packaging/bootstrap.sh") from None
        if dist.version != version:
            raise BuildError(
                f"{name} {dist.version} is installed but uv.lock has {version}: "
                "run bash packaging/bootstrap.sh to install from the lock"
            )
        for file in dist.files or []:
            rel = file.as_posix()
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith((".pyc", "RECORD")):
                continue  # console scripts outside site-packages, byte code, the installer's list
            found.append((rel, Path(str(file.locate()))))
    yield from sorted(found)


def _entry(name: str, mode: int = 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.external_attr = (0o100000 | mode) << 16  # regular file, rw-r--r--
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build(output: Path = DEFAULT_OUTPUT, backend: Path = BACKEND) -> Path:
    """Write the zip atomically and return its path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    entries = list(backend_files(backend)) + list(vendored_files())
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(_entry(SHIM_NAME), SHIM)
        for name, path in entries:
            zf.writestr(_entry(name), path.read_bytes())
    tmp.replace(output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="zip to write")
    args = parser.parse_args(argv)
    try:
        out = build(args.output)
    except (BuildError, OSError) as exc:
        print(f"build_lambda: {exc}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    with zipfile.ZipFile(out) as zf:
        count = len(zf.namelist())
    print(f"{out} ({out.stat().st_size} bytes, {count} files, sha256 {digest[:16]}…)")
    print(f"Handler: {HANDLER}   (or {FULL_HANDLER})   Runtime: python3.13")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
