"""SD cards from the glasses: find them, list their clips, say what is new, and erase safely.

No Qt here (the import dialog in ``ui/card_import.py`` is a thin view over this module).

* :func:`mount_roots` / :func:`find_cards` — the places removable volumes are mounted on Linux
  (``/media/$USER/*``, ``/run/media/$USER/*``, ``/media/*``, ``/mnt/*``), macOS (``/Volumes/*``)
  and Windows (removable drive letters), plus roots injected by the caller or through the
  ``MEDISPECS_CARD_ROOTS`` environment variable (``os.pathsep``-separated). A volume is a
  *recording card* when it has a ``DCIM`` folder or video files at one of the places cameras put
  them (see :data:`KNOWN_VIDEO_DIRS`).
* :class:`CardWatcher` — operating systems give no portable "card inserted" signal (Qt's
  ``QStorageInfo`` has none either), so the app polls: ``poll() -> (inserted, removed)``.
* :func:`scan_card` — every clip on a card with size, recorded time and duration
  (``core.media.probe``) and its quick fingerprint (``core.hashing.fingerprint``); broken and
  non-video files are listed as :attr:`ClipStatus.UNREADABLE` with the reason, never dropped.
* :func:`classify` — new / already queued / already in the cloud, by fingerprint and then by
  SHA-256, from plain inputs (a set of queued fingerprints and the API's duplicate lookup).
* :func:`verify_in_cloud`, :func:`safe_to_erase`, :func:`erase_verified` — DESIGN §8 "verified
  in cloud" per clip, the card-level verdict, and deletion of the verified clip files only
  (never anything else, never against the in-memory demo stack).
"""

from __future__ import annotations

import enum
import logging
import os
import string
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from medispecs_desktop.core.errors import MediSpecsError, NotFoundError
from medispecs_desktop.core.formatting import plural
from medispecs_desktop.core.hashing import fingerprint, sha256_file
from medispecs_desktop.core.media import MediaError, MediaInfo, probe
from medispecs_desktop.core.uploads.scanner import REASON_NOT_VIDEO, is_video_name, scan_paths

log = logging.getLogger(__name__)

ENV_CARD_ROOTS = "MEDISPECS_CARD_ROOTS"

#: Folders (relative to a volume's root, compared case-insensitively) where recording devices
#: store clips. ``DCIM`` alone is enough to call a volume a camera card.
KNOWN_VIDEO_DIRS: tuple[str, ...] = (
    "DCIM",
    "VIDEO",
    "VIDEOS",
    "MOVIES",
    "RECORD",
    "RECORDINGS",
    "MP_ROOT",
    "PRIVATE/M4ROOT/CLIP",
    "PRIVATE/AVCHD/BDMV/STREAM",
)

# Windows GetDriveTypeW results worth looking at: removable (SD readers, USB sticks) and
# fixed (many USB card readers report "fixed"); the system drive is always left out.
_DRIVE_REMOVABLE = 2
_DRIVE_FIXED = 3

#: Statuses of a verified clip record in the cloud (bytes confirmed in S3).
_CONFIRMED_STATUSES = frozenset({"uploaded", "processing", "ready"})


class CardError(MediSpecsError):
    """A card operation was refused or failed (e.g. erase in demo mode)."""

    code = "card"


class ClipStatus(enum.StrEnum):
    """Where a clip on the card stands. The dialog advances it CARD -> ... -> VERIFIED."""

    NEW = "new"  # on the card only
    DUPLICATE = "duplicate"  # the same bytes as another clip on this card (listed first)
    QUEUED = "queued"  # in the local upload queue
    UPLOADING = "uploading"
    IN_CLOUD = "in_cloud"  # a cloud record has the same content (fingerprint, then SHA-256)
    VERIFIED = "verified"  # DESIGN §8 "verified in cloud": safe to erase
    FAILED = "failed"  # the upload failed; see ``error``
    UNREADABLE = "unreadable"  # not a readable video: never uploaded, never erased


@dataclass(frozen=True)
class Card:
    """A mounted volume that holds recordings."""

    root: Path
    label: str
    reason: str  # why it counts as a card, e.g. "DCIM folder"

    @property
    def key(self) -> str:
        return os.path.normcase(str(self.root))


@dataclass(frozen=True)
class CardClip:
    """One file on a card (a video, or a file named like one that could not be read)."""

    path: Path
    relpath: str  # relative to the card root, with "/" separators
    size_bytes: int
    mtime: float
    info: MediaInfo | None = None
    error: str | None = None  # why the file is not a readable video
    fingerprint: str | None = None
    sha256: str | None = None  # hex, only once computed (cloud confirmation / upload)
    status: ClipStatus = ClipStatus.NEW
    video_id: str | None = None  # the cloud record with the same content
    duplicate_of: str | None = None  # relpath of the clip on this card with the same bytes
    #: not readable because the recording is damaged (truncated, broken): it can still be kept
    #: in the cloud on the user's word ("upload as damaged") and then counts as verified
    damaged: bool = False

    @property
    def readable(self) -> bool:
        return self.info is not None and self.error is None

    @property
    def recorded_at(self) -> str | None:
        return self.info.recorded_at if self.info else None

    @property
    def duration_sec(self) -> float | None:
        return self.info.duration_sec if self.info else None

    @property
    def name(self) -> str:
        return self.path.name


# --- where cards are mounted ------------------------------------------------------------------


def _user_name() -> str:
    for var in ("USER", "LOGNAME", "USERNAME"):
        value = os.environ.get(var)
        if value:
            return value
    try:
        import getpass

        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return ""


def env_card_roots(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Roots named in ``MEDISPECS_CARD_ROOTS`` (``os.pathsep``-separated; empty parts ignored)."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_CARD_ROOTS, "")
    return [Path(os.path.expanduser(part)) for part in raw.split(os.pathsep) if part.strip()]


def mount_roots(platform: str | None = None) -> list[Path]:
    """Folders whose sub-folders are mounted volumes on this operating system."""
    plat = platform or sys.platform
    if plat == "darwin":
        return [Path("/Volumes")]
    if plat.startswith("win"):
        return []  # drive letters, see _windows_drives
    user = _user_name()
    roots: list[Path] = []
    if user:
        roots += [Path("/media") / user, Path("/run/media") / user]
    roots += [Path("/media"), Path("/mnt")]
    return roots


def _windows_drives() -> list[Path]:
    if not sys.platform.startswith("win"):
        return []
    import ctypes

    windll = getattr(ctypes, "windll", None)
    if windll is None:
        return []
    system_drive = os.environ.get("SystemDrive", "C:").upper().rstrip("\\")
    bitmask = int(windll.kernel32.GetLogicalDrives())
    drives: list[Path] = []
    for index, letter in enumerate(string.ascii_uppercase):
        if not bitmask & (1 << index) or f"{letter}:" == system_drive:
            continue
        root = f"{letter}:\\"
        if int(windll.kernel32.GetDriveTypeW(root)) in (_DRIVE_REMOVABLE, _DRIVE_FIXED):
            drives.append(Path(root))
    return drives


def _children(root: Path) -> list[Path]:
    try:
        with os.scandir(root) as entries:
            return sorted(
                Path(e.path) for e in entries if not e.name.startswith(".") and _is_dir(e)
            )
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _find_child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively per component (FAT cards, any OS)."""
    current = folder
    for part in name.split("/"):
        match: Path | None = None
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name.lower() == part.lower() and _is_dir(entry):
                        match = Path(entry.path)
                        break
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current


def _has_video_file(folder: Path, *, depth: int = 1) -> bool:
    """A video file directly in ``folder`` or (``depth`` > 0) in one of its sub-folders."""
    try:
        with os.scandir(folder) as entries:
            subdirs = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if _is_dir(entry):
                    subdirs.append(Path(entry.path))
                elif is_video_name(entry.name):
                    return True
    except OSError:
        return False
    return depth > 0 and any(_has_video_file(sub, depth=depth - 1) for sub in subdirs)


def recognise_card(volume: Path) -> Card | None:
    """``Card`` if ``volume`` looks like a recording card (DCIM or videos at known places)."""
    if not volume.is_dir():
        return None
    label = volume.name or str(volume)
    if _find_child(volume, "DCIM") is not None:
        return Card(root=volume, label=label, reason="DCIM folder")
    for name in KNOWN_VIDEO_DIRS[1:]:
        folder = _find_child(volume, name)
        if folder is not None and _has_video_file(folder):
            return Card(root=volume, label=label, reason=f"videos in {name}")
    if _has_video_file(volume, depth=0):
        return Card(root=volume, label=label, reason="videos at the top level")
    return None


def candidate_volumes(
    extra_roots: Iterable[str | os.PathLike[str]] = (),
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    include_system: bool = True,
    system_roots: Sequence[str | os.PathLike[str]] | None = None,
) -> list[Path]:
    """Volumes to look at: each child of a mount root (``system_roots``, by default
    :func:`mount_roots` and, on Windows, the drive letters); an injected root is a volume
    itself when it looks like a card, otherwise a folder whose children are volumes."""
    seen: set[str] = set()
    out: list[Path] = []

    def add(path: Path) -> None:
        key = _path_key(path)
        if key not in seen:
            seen.add(key)
            out.append(path)

    injected = [Path(p) for p in extra_roots] + env_card_roots(environ)
    for root in injected:
        if recognise_card(root) is not None:
            add(root)
            continue
        for child in _children(root):
            add(child)
    if include_system:
        roots = ([Path(p) for p in system_roots] if system_roots is not None
                 else mount_roots(platform))
        root_keys = {_path_key(r) for r in roots}
        for root in roots:
            for child in _children(root):
                if _path_key(child) in root_keys:
                    continue  # /media/$USER is itself a mount root inside /media
                add(child)
        if system_roots is None:
            for drive in _windows_drives():
                add(drive)
    return out


def find_cards(
    extra_roots: Iterable[str | os.PathLike[str]] = (),
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    include_system: bool = True,
    system_roots: Sequence[str | os.PathLike[str]] | None = None,
) -> list[Card]:
    """Every mounted recording card right now."""
    cards = []
    for volume in candidate_volumes(
        extra_roots, environ=environ, platform=platform, include_system=include_system,
        system_roots=system_roots,
    ):
        card = recognise_card(volume)
        if card is not None:
            cards.append(card)
    return cards


class CardWatcher:
    """Polls for recording cards. ``poll()`` returns the cards inserted and removed since the
    previous poll; the first poll reports every card already present as inserted (the app
    may offer to import a card that was in the reader when it started)."""

    def __init__(
        self,
        extra_roots: Iterable[str | os.PathLike[str]] = (),
        *,
        environ: Mapping[str, str] | None = None,
        platform: str | None = None,
        include_system: bool = True,
        system_roots: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        self._extra = [Path(p) for p in extra_roots]
        self._environ = environ
        self._platform = platform
        self._include_system = include_system
        self._system_roots = system_roots
        self._known: dict[str, Card] = {}

    @property
    def cards(self) -> list[Card]:
        """The cards seen at the last poll."""
        return list(self._known.values())

    def poll(self) -> tuple[list[Card], list[Card]]:
        found = {
            card.key: card
            for card in find_cards(
                self._extra,
                environ=self._environ,
                platform=self._platform,
                include_system=self._include_system,
                system_roots=self._system_roots,
            )
        }
        inserted = [card for key, card in found.items() if key not in self._known]
        removed = [card for key, card in self._known.items() if key not in found]
        self._known = found
        return inserted, removed


# --- the clips on a card ----------------------------------------------------------------------


def _relpath(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_clip(path: Path, root: Path, *, with_fingerprint: bool = True) -> CardClip | None:
    """One clip's metadata; ``None`` when the file vanished (card pulled)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return CardClip(path=path, relpath=_relpath(path, root), size_bytes=0, mtime=0.0,
                        error=f"cannot be read: {exc.strerror or exc}",
                        status=ClipStatus.UNREADABLE)
    clip = CardClip(path=path, relpath=_relpath(path, root), size_bytes=st.st_size,
                    mtime=st.st_mtime)
    try:
        info = probe(path)
    except MediaError as exc:
        clip = replace(clip, error=exc.message, status=ClipStatus.UNREADABLE,
                       damaged=exc.damaged)
        if exc.damaged and with_fingerprint:  # erased only if still these bytes
            try:
                clip = replace(clip, fingerprint=fingerprint(path))
            except OSError:
                clip = replace(clip, damaged=False)
        return clip
    clip = replace(clip, info=info)
    if with_fingerprint:
        try:
            clip = replace(clip, fingerprint=fingerprint(path))
        except OSError as exc:
            return replace(clip, error=f"cannot be read: {exc.strerror or exc}",
                           status=ClipStatus.UNREADABLE)
    return clip


def scan_card(
    root: str | os.PathLike[str],
    *,
    with_fingerprint: bool = True,
    on_clip: Callable[[CardClip], None] | None = None,
    others: list[Path] | None = None,
) -> list[CardClip]:
    """Every clip on the card (any folder depth), oldest recording first.

    Files named like videos that cannot be read are listed with status UNREADABLE and the
    reason; other files (notes, camera databases) are not clips and are left out (``others``,
    when given, receives them). ``on_clip`` is called for each clip as it is read (progress
    for long cards).
    """
    card_root = Path(os.path.abspath(root))
    if not card_root.is_dir():
        raise CardError(f"{card_root} is not a folder (was the card removed?).")
    clips: list[CardClip] = []
    found = scan_paths([card_root])
    if others is not None:
        others.extend(path for path, reason in found.skipped if reason == REASON_NOT_VIDEO)
    for path in found.files:
        clip = read_clip(path, card_root, with_fingerprint=with_fingerprint)
        if clip is None:
            continue
        clips.append(clip)
        if on_clip is not None:
            on_clip(clip)
    clips.sort(key=lambda c: (c.recorded_at or "9999", c.relpath))
    return clips


# --- new / queued / in the cloud --------------------------------------------------------------


class DuplicateLookup(Protocol):
    """``ApiClient.find_duplicates``: matches ``[{"sha256"|"fingerprint": str, "videoId"}]``."""

    def __call__(
        self, *, sha256s: Sequence[str] = ..., fingerprints: Sequence[str] = ...
    ) -> list[dict[str, Any]]: ...


_LOOKUP_BATCH = 100  # the API's limit per list


def _batched(values: Sequence[str], size: int = _LOOKUP_BATCH) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _lookup(find: DuplicateLookup, kind: str, values: Collection[str]) -> dict[str, str]:
    unique = sorted(set(values))
    found: dict[str, str] = {}
    for batch in _batched(unique):
        if kind == "sha256":
            matches = find(sha256s=batch, fingerprints=[])
        else:
            matches = find(sha256s=[], fingerprints=batch)
        for match in matches:
            value, video_id = match.get(kind), match.get("videoId")
            if isinstance(value, str) and isinstance(video_id, str):
                found.setdefault(value, video_id)
    return found


def _path_key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))


@dataclass(frozen=True)
class QueueIndex:
    """What the local upload queue holds, for :func:`classify`."""

    fingerprints: frozenset[str] = frozenset()
    paths: frozenset[str] = frozenset()

    @classmethod
    def from_jobs(cls, jobs: Iterable[Any]) -> QueueIndex:
        """From upload jobs (``core.uploads.jobs.Job``): every job not finished, failed or
        cancelled counts as queued."""
        fps: set[str] = set()
        paths: set[str] = set()
        for job in jobs:
            state = str(getattr(getattr(job, "state", ""), "value", getattr(job, "state", "")))
            if state in ("done", "failed", "cancelled"):
                continue
            fp = getattr(job, "fingerprint", None)
            if fp:
                fps.add(str(fp))
            path = getattr(job, "path", None)
            if path:
                paths.add(_path_key(path))
        return cls(frozenset(fps), frozenset(paths))


def sha256_hex(path: Path) -> str:
    return sha256_file(path).hexdigest()


def classify(
    clips: Sequence[CardClip],
    *,
    queued_fingerprints: Collection[str] = (),
    queued_paths: Collection[str | os.PathLike[str]] = (),
    find_duplicates: DuplicateLookup | None = None,
    sha256_of: Callable[[Path], str] = sha256_hex,
    confirm_with_sha256: bool = True,
) -> list[CardClip]:
    """The clips (same order) with ``status`` NEW, DUPLICATE, QUEUED or IN_CLOUD.

    * QUEUED: the clip's fingerprint is in the local upload queue, or the queue has a job for
      this very file (``queued_paths``: a job is queued before its fingerprint is computed).
    * IN_CLOUD: the cloud has a record with the clip's fingerprint, confirmed (unless
      ``confirm_with_sha256`` is False) by the whole-file SHA-256: a fingerprint is a quick
      filter, only the full hash proves the same content. ``find_duplicates=None`` (offline)
      skips the cloud check.
    * DUPLICATE: the same content as an earlier clip on this card (same fingerprint and, for
      files over 2 MiB, the same SHA-256): importing it would upload the same bytes twice.
    * Unreadable clips keep their status; a file that vanished while hashing becomes
      UNREADABLE ("card removed?").
    """
    out = list(clips)
    queued = set(queued_fingerprints)
    queued_files = {_path_key(p) for p in queued_paths}
    readable = [i for i, c in enumerate(out) if c.readable and c.fingerprint]

    for i in readable:
        if out[i].fingerprint in queued or _path_key(out[i].path) in queued_files:
            out[i] = replace(out[i], status=ClipStatus.QUEUED)

    def ensure_sha(i: int) -> str | None:
        clip = out[i]
        if clip.sha256:
            return clip.sha256
        try:
            digest = sha256_of(clip.path)
        except OSError as exc:
            out[i] = replace(clip, status=ClipStatus.UNREADABLE,
                             error=f"cannot be read (card removed?): {exc.strerror or exc}")
            return None
        out[i] = replace(clip, sha256=digest)
        return digest

    if find_duplicates is not None:
        candidates = [i for i in readable if out[i].status is ClipStatus.NEW]
        by_fp = _lookup(find_duplicates, "fingerprint",
                        [str(out[i].fingerprint) for i in candidates])
        matched = [i for i in candidates if out[i].fingerprint in by_fp]
        if confirm_with_sha256 and matched:
            digests = {i: ensure_sha(i) for i in matched}
            by_sha = _lookup(find_duplicates, "sha256", [d for d in digests.values() if d])
            for i, digest in digests.items():
                if digest and digest in by_sha:
                    out[i] = replace(out[i], status=ClipStatus.IN_CLOUD, video_id=by_sha[digest])
        else:
            for i in matched:
                out[i] = replace(out[i], status=ClipStatus.IN_CLOUD,
                                 video_id=by_fp[str(out[i].fingerprint)])

    first_with: dict[str, int] = {}
    for i in readable:
        clip = out[i]
        fp = str(clip.fingerprint)
        if fp not in first_with:
            first_with[fp] = i
            continue
        if clip.status not in (ClipStatus.NEW, ClipStatus.QUEUED):
            continue
        original = first_with[fp]
        same = clip.size_bytes <= 2 * 1024 * 1024 or ensure_sha(i) == ensure_sha(original)
        if same and out[i].status is not ClipStatus.UNREADABLE:
            out[i] = replace(out[i], status=ClipStatus.DUPLICATE,
                             duplicate_of=out[original].relpath,
                             video_id=out[original].video_id)
    return out


# --- verified in cloud, safe to erase ----------------------------------------------------------


@dataclass(frozen=True)
class CloudCheck:
    """Outcome of DESIGN §8 "verified in cloud" for one clip."""

    verified: bool
    reason: str
    video_id: str | None = None
    #: How the server checked the whole-file SHA-256 (the record's ``sha256VerifiedBy``:
    #: checksum, read, parts or none); None when the check stopped before that.
    sha256_verified_by: str | None = None

    @property
    def parts_only(self) -> bool:
        """S3 verified every part's checksum but the whole file was not compared."""
        return not self.verified and self.sha256_verified_by == "parts"


#: Why a clip whose record only had its parts checked is not safe to erase.
PARTS_ONLY_REASON = ("only its parts were checked in the cloud (S3 verified each part's "
                     "checksum; the whole file's SHA-256 could not be compared, it was too "
                     "large to read back in time), so it is not proven safe to erase")


def verify_in_cloud(clip: CardClip, record: Mapping[str, Any] | None, *,
                    local_sha256: str | None = None) -> CloudCheck:
    """Is ``clip`` verified in the cloud by ``record`` (the API's Video object as a dict)?

    DESIGN §8: the record exists, its bytes are confirmed in S3 (status uploaded/processing/
    ready), the size S3 reported (``fileSizeBytes``, from HeadObject) equals the local size,
    the record's whole-file SHA-256 equals the local SHA-256 (read from the card now, so a clip
    changed since the upload is not erased), and the server compared that SHA-256 with the
    bytes in S3 (``sha256Verified`` is JSON ``true``). A record whose server could only rely on
    S3's per-part checksums (``sha256VerifiedBy: "parts"``) is *not* verified: the reason says
    so. A record without ``sha256Verified`` (made before the server checked) is not verified.
    """
    if record is None:
        return CloudCheck(False, "no cloud record")
    video_id = record.get("videoId") if isinstance(record.get("videoId"), str) else None
    status = record.get("status")
    kept_damaged = record.get("damaged") is True and status == "error"
    if status not in _CONFIRMED_STATUSES and not kept_damaged:
        return CloudCheck(False, f"the upload is not confirmed (status {status})", video_id)
    size = record.get("fileSizeBytes")
    if not isinstance(size, int) or size != clip.size_bytes:
        return CloudCheck(False, f"size in the cloud ({size}) differs from the card "
                                 f"({clip.size_bytes})", video_id)
    cloud_sha = record.get("sha256")
    local = local_sha256 or clip.sha256
    if not isinstance(cloud_sha, str) or not cloud_sha:
        return CloudCheck(False, "the cloud record has no checksum", video_id)
    if not local:
        return CloudCheck(False, "the clip's checksum was not computed", video_id)
    if cloud_sha.lower() != local.lower():
        return CloudCheck(False, "checksum in the cloud differs from the card", video_id)
    raw_by = record.get("sha256VerifiedBy")
    by = raw_by if isinstance(raw_by, str) else None
    flag = record.get("sha256Verified")
    if flag is True:  # a JSON boolean only: "true" or 1 is not the server's word
        how = {"crc64nvme": " (S3 checked the whole file's checksum)",
               "read": " (SHA-256 checked: the server read the file back)",
               "checksum": " (SHA-256 checked by S3)"}.get(by or "", "")
        return CloudCheck(True, "verified in cloud" + how, video_id, by)
    if by == "parts":
        return CloudCheck(False, PARTS_ONLY_REASON, video_id, by)
    if flag is False:
        return CloudCheck(False, "the cloud could not check the file's SHA-256 against the "
                                 "uploaded bytes", video_id, by)
    return CloudCheck(False, "the cloud has not confirmed the file's SHA-256 against the "
                             "uploaded bytes (no sha256Verified in the record)", video_id, by)


def check_card_in_cloud(
    clips: Sequence[CardClip],
    *,
    find_duplicates: DuplicateLookup,
    get_video: Callable[[str], Mapping[str, Any] | None],
    sha256_of: Callable[[Path], str] = sha256_hex,
) -> dict[Path, CloudCheck]:
    """Verify every readable clip against the cloud: hash it (whole file, from the card), find
    the record with that SHA-256, fetch it and apply :func:`verify_in_cloud`."""
    digests: dict[Path, str] = {}
    results: dict[Path, CloudCheck] = {}
    for clip in clips:
        if not clip.readable and not clip.damaged:
            results[clip.path] = CloudCheck(False, clip.error or "not a readable video")
            continue
        try:
            digests[clip.path] = clip.sha256 or sha256_of(clip.path)
        except OSError as exc:
            results[clip.path] = CloudCheck(False, f"cannot be read: {exc.strerror or exc}")
    by_sha = _lookup(find_duplicates, "sha256", list(digests.values()))
    for clip in clips:
        digest = digests.get(clip.path)
        if digest is None:
            continue
        video_id = by_sha.get(digest)
        record = get_video(video_id) if video_id else None
        results[clip.path] = verify_in_cloud(clip, record, local_sha256=digest)
    return results


class VideoLookup(Protocol):
    """The part of ``core.api.ApiClient`` the cloud check uses."""

    def find_duplicates(
        self, *, sha256s: Sequence[str] = ..., fingerprints: Sequence[str] = ...
    ) -> list[dict[str, Any]]: ...

    def get_video(self, video_id: str) -> Any: ...


def check_card_with_api(
    clips: Sequence[CardClip],
    api: VideoLookup,
    *,
    sha256_of: Callable[[Path], str] = sha256_hex,
) -> dict[Path, CloudCheck]:
    """:func:`check_card_in_cloud` through the videos API (``ApiClient``): a record that is
    gone (404) counts as missing; other API errors propagate (nothing is verified then)."""

    def get_video(video_id: str) -> Mapping[str, Any] | None:
        try:
            video = api.get_video(video_id)
        except NotFoundError:
            return None
        if isinstance(video, Mapping):
            return video
        to_api = getattr(video, "to_api", None)
        return to_api() if callable(to_api) else None

    return check_card_in_cloud(clips, find_duplicates=api.find_duplicates,
                               get_video=get_video, sha256_of=sha256_of)


@dataclass(frozen=True)
class EraseVerdict:
    safe: bool
    verified: list[CardClip] = field(default_factory=list)
    pending: list[CardClip] = field(default_factory=list)  # readable, not verified yet
    unreadable: list[CardClip] = field(default_factory=list)
    #: Why each pending clip is not verified (from its :class:`CloudCheck`), by path.
    reasons: dict[Path, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        n = len(self.verified)
        if self.safe:
            return ((f"All {plural(n, 'clip')} on this card are" if n != 1
                     else "The 1 clip on this card is") + " verified in the cloud. "
                    "The card is safe to erase.")
        parts = []
        if self.pending:
            parts.append(f"{plural(len(self.pending), 'clip')} not yet verified in the cloud")
        if self.unreadable:
            damaged = any(c.damaged for c in self.unreadable)
            parts.append(f"{plural(len(self.unreadable), 'file')} that could not be read "
                         "(not uploaded" + ("; a damaged recording can be kept with 'Upload "
                                            "as damaged'" if damaged else "") + ")")
        if not parts:
            return "There are no clips on this card."
        text = "Do not erase this card yet: " + " and ".join(parts) + "."
        why = [f"{c.name}: {self.reasons[c.path]}." for c in self.pending
               if c.path in self.reasons]
        if why:
            shown = why[:_REASONS_SHOWN]
            more = len(why) - len(shown)
            text += " " + " ".join(shown) + (f" (and {more} more)" if more else "")
        return text


_REASONS_SHOWN = 3


def _is_verified(clip: CardClip, verified: Mapping[Path, bool | CloudCheck]) -> bool:
    value = verified.get(clip.path, False)
    if not clip.readable:
        # a file that is no readable video counts only as a damaged recording the cloud holds
        # (its SHA-256 found and verified there), never on a bare flag
        return clip.damaged and isinstance(value, CloudCheck) and value.verified
    return value.verified if isinstance(value, CloudCheck) else bool(value)


def safe_to_erase(clips: Sequence[CardClip],
                  verified: Mapping[Path, bool | CloudCheck]) -> EraseVerdict:
    """The card is safe to erase when it has clips and every one of them is verified in the
    cloud. An unreadable file blocks it too: it is not in the cloud, erasing would lose it."""
    # a damaged recording kept in the cloud (uploaded as damaged, verified like any other)
    # counts as verified; one that is not there blocks the card as an unreadable file does
    ok = [c for c in clips if _is_verified(c, verified)]
    pending = [c for c in clips if c.readable and not _is_verified(c, verified)]
    unreadable = [c for c in clips if not c.readable and c not in ok]
    reasons: dict[Path, str] = {}
    for clip in pending:
        check = verified.get(clip.path)
        if isinstance(check, CloudCheck) and check.reason:
            reasons[clip.path] = check.reason
    return EraseVerdict(safe=bool(ok) and not pending and not unreadable,
                        verified=ok, pending=pending, unreadable=unreadable, reasons=reasons)


@dataclass(frozen=True)
class EraseResult:
    deleted: list[Path] = field(default_factory=list)
    kept: list[tuple[Path, str]] = field(default_factory=list)  # not deleted, with the reason


def erase_verified(
    clips: Sequence[CardClip],
    verified: Mapping[Path, bool | CloudCheck],
    *,
    demo: bool,
) -> EraseResult:
    """Delete the clip files that are verified in the cloud, and nothing else.

    Refuses entirely when ``demo`` is true (the local stack keeps nothing). Before deleting a
    file it checks that it is still the file that was verified (same size and fingerprint);
    folders and other files are never touched.
    """
    if demo:
        raise CardError("Erasing a card is disabled in demo mode: the demo cloud keeps "
                        "nothing, so the clips would be lost.")
    result = EraseResult()
    for clip in clips:
        if not _is_verified(clip, verified):
            result.kept.append((clip.path, "not verified in the cloud"))
            continue
        reason = _still_same_file(clip)
        if reason:
            result.kept.append((clip.path, reason))
            continue
        try:
            clip.path.unlink()
        except FileNotFoundError:
            result.kept.append((clip.path, "already gone"))
        except OSError as exc:
            result.kept.append((clip.path, f"could not delete: {exc.strerror or exc}"))
        else:
            log.info("erased verified clip %s (%d bytes)", clip.relpath, clip.size_bytes)
            result.deleted.append(clip.path)
    return result


def _still_same_file(clip: CardClip) -> str | None:
    try:
        st = clip.path.lstat()
    except FileNotFoundError:
        return "already gone"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not os.path.isfile(clip.path) or os.path.islink(clip.path):
        return "not a regular file"
    if st.st_size != clip.size_bytes:
        return "changed since it was verified (size)"
    if clip.fingerprint:
        try:
            if fingerprint(clip.path) != clip.fingerprint:
                return "changed since it was verified"
        except OSError as exc:
            return f"cannot be read: {exc.strerror or exc}"
    return None
