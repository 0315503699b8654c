"""What works on this computer, in plain words with a concrete fix (``medispecs-desktop doctor``).

Qt-free: the checks of the keyring, the network to the configured API and the log directory,
and the shared-library analysis behind the Qt checks (``ui/diagnostics.py`` probes Qt itself
and uses :func:`library_problem` / :func:`fix_for_library` to explain a plugin that cannot
load, e.g. Qt's FFmpeg multimedia plugin needing ``libXrandr.so.2`` on a fresh Debian).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from medispecs_desktop.core.config import Paths, Settings

__all__ = [
    "Check",
    "api_check",
    "fix_for_library",
    "install_command",
    "keyring_check",
    "library_problem",
    "log_dir_check",
    "missing_library",
]

# shared libraries Qt's plugins need on Linux, and the Debian/Ubuntu package of each
DEBIAN_PACKAGES = {
    "libXrandr.so.2": "libxrandr2",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXext.so.6": "libxext6",
    "libXfixes.so.3": "libxfixes3",
    "libXrender.so.1": "libxrender1",
    "libXi.so.6": "libxi6",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libpulse.so.0": "libpulse0",
    "libva.so.2": "libva2",
    "libva-drm.so.2": "libva-drm2",
    "libva-x11.so.2": "libva-x11-2",
    "libvdpau.so.1": "libvdpau1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libasound.so.2": "libasound2",
}

_MISSING = re.compile(
    r"(lib[\w.+-]+?\.so(?:\.\d+)*)\s*:\s*(?:cannot open shared object file|file too short|"
    r"invalid ELF header|wrong ELF class|cannot read file data)"
)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def missing_library(text: str) -> str | None:
    """The shared library a loader error names (``libXrandr.so.2``), if any."""
    found = _MISSING.search(text or "")
    return found.group(1) if found else None


def install_command(package: str) -> str:
    """``sudo apt-get install PACKAGE`` (no sudo for root); Debian/Ubuntu package names."""
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    if shutil.which("apt-get") or Path("/etc/debian_version").exists():
        return f"{sudo}apt-get install {package}"
    return f"install the package {package} (Debian/Ubuntu name)"


def fix_for_library(library: str) -> str:
    """A concrete command that installs ``library`` (Debian/Ubuntu), or what to look for."""
    package = DEBIAN_PACKAGES.get(library)
    if package is None:
        return f"install the system package that provides {library}"
    return install_command(package)


def library_problem(path: str | os.PathLike[str]) -> str | None:
    """Why the shared object at ``path`` cannot be loaded here (the loader's words), or None.

    Loads it with the platform loader the way Qt's plugin loader does, so a missing
    dependency (``libXrandr.so.2: cannot open shared object file``) is named exactly."""
    try:
        ctypes.CDLL(os.fspath(path), mode=getattr(os, "RTLD_LAZY", 1) | ctypes.RTLD_LOCAL)
    except OSError as exc:
        return str(exc)
    return None


def keyring_check(settings: Settings, paths: Paths) -> Check:
    import keyring

    from medispecs_desktop.core.auth import KeyringTokenStore

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    problem = KeyringTokenStore.for_settings(settings, paths).check()
    if problem is None:
        where = ("a private plain-text file (MEDISPECS_ALLOW_PLAINTEXT_KEYRING)"
                 if settings.allow_plaintext_keyring and "fail" in name.lower() else name)
        return Check("Keyring", True, f"the sign-in is kept in {where}")
    return Check(
        "Keyring", False, f"{problem} (backend: {name})",
        f"install and unlock a Secret Service keyring (`{install_command('gnome-keyring')}`), "
        "or on a headless machine set MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1",
    )


def api_check(settings: Settings, *, timeout: float = 5.0) -> Check:
    if not settings.api_url:
        return Check("Network to the API", False, "no API URL is configured",
                     "set MEDISPECS_API_URL (or the API URL in Settings), or start the demo "
                     "with `medispecs-desktop --local`")
    import requests

    from medispecs_desktop.core.http import make_session

    url = settings.api_url.rstrip("/") + "/videos"
    try:
        with make_session(retries=0, timeout=(timeout, timeout)) as session:
            response = session.options(url)
            status = response.status_code
            response.close()
    except requests.RequestException as exc:
        kind = type(exc).__name__
        return Check("Network to the API", False,
                     f"{settings.api_url} does not answer ({kind})",
                     "check the network connection, a proxy (HTTPS_PROXY) or firewall, and "
                     "that the API URL is right")
    return Check("Network to the API", True, f"{settings.api_url} answers (HTTP {status})")


def log_dir_check(paths: Paths) -> Check:
    folder = paths.log_dir
    try:
        paths.ensure()
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return Check("Log directory", False, f"{folder} is not writable: {exc.strerror or exc}",
                     f"make {folder} writable by this user (or set MEDISPECS_HOME to a "
                     "writable folder)")
    return Check("Log directory", True, f"{folder} is writable")
