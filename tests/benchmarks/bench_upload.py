"""Upload engine benchmarks (a script, not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_upload.py [sink] [queue] [stack] [rss] [--mb N]
                         [--big-gb G] [--part-mb N] [--pairs N] [--files N] [--queue-mb N]

sink   throughput of the engine vs `curl -T` for the same file to the same endpoint, a fast
       loopback sink that accepts PUTs and discards the bytes, and vs `openssl dgst -sha256`
       of the file (the SHA-256 limit: the engine must hash every byte once); alternating
       runs, per-run ratios and their medians, CPU-s/GB (goals: >= 0.9 x min(curl, SHA-256),
       <= 1.0 CPU-s/GB). The engine's time and CPU run from the file queued to its job done,
       on one engine kept for the whole run as the app keeps its engine (a queue's files share
       its part buffers); fresh_engine_* are a new engine's first upload, measured in the same
       pairs (fresh_engine_cpu_with_setup adds making and stopping it);
       engine_hash_thread_cpu_s_per_GB is the reading and hashing thread alone - the one
       stream every byte passes through, so it bounds the engine's speed as openssl's CPU
       bounds openssl's; engine_other_cpu_s_per_GB is the rest (sending, buffers, journal)
       floor_cpu_s_per_GB is the least the engine's design can cost on the machine, measured
       in the same pairs: its two jobs done apart, each alone - the engine's own FileReader
       reading, CRC'ing and SHA-256'ing the file into part buffers (read_hash_alone) plus
       sending as many bytes from a part buffer already in memory, one PUT per part on one
       connection (send_alone); engine_cpu_vs_floor is the engine against it. (Where the
       floor is above 1.0 - a VM whose one SHA-256 stream costs 0.72-0.79 CPU-s/GB and whose
       loopback send costs 0.28 - the 1.0 goal cannot hold: a part is sent only once its
       checksum is signed into its URL and kept in memory until S3 has it)
queue  CPU-s/GB of one engine uploading a queue of ``--files`` different files of
       ``--queue-mb`` to the sink (the app's case: a file's part buffers serve the next
       file's parts), median of ``--pairs`` runs; compare trees by alternating processes
stack  the same against the embedded local stack (real pre-signed URLs, moto behind them), with
       the stack child's CPU per GB for each: the stack is one Python process (one GIL), so
       when it is the bottleneck the engine's share of curl's speed is about the ratio of
       the two (a single PUT vs create + parts + complete + the record's API calls; the
       handlers' own calls to moto are made in the stack's process, local/inprocess.py). Which
       of the two goes first alternates from pair to pair (curl_first in each row): on this
       project's VMs the one going second does better (engine first 0.95, curl first 1.09
       over 20 pairs; 0.87 and 0.94 before the handlers' calls went in-process), and the
       engine always went first before. (Runs that slowed 4x for
       whichever went second after about five pairs were a leak in the demo stack, since
       fixed: moto_s3_patches, a purge's version listing)
rss    client peak RSS uploading a sparse 4 GB file vs a 100 MB file to the sink, each in a
       fresh process (goals: ratio <= 1.2, <= 150 MB)

``--part-mb`` sets the engine's part size.

Against the sink the engine runs with a stand-in for the videos API (URLs pointing at the
sink), so the numbers measure the client: one read of each byte, its SHA-256 and CRC64NVME,
parts streamed from memory with an exact Content-Length, threads, progress. curl has no
hashing work; openssl has no sending work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024


# --------------------------------------------------------------------------- the sink
class Sink:
    """HTTP/1.1 keep-alive server on 127.0.0.1: reads each PUT body into one reused buffer."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self.bytes = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray(4 * MIB)
        view = memoryview(buf)
        pending = b""
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                head, _, pending = pending.partition(b"\r\n\r\n")
                headers = {}
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    headers[k.strip().lower()] = v.strip()
                if headers.get(b"expect", b"").lower() == b"100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                left = int(headers.get(b"content-length", b"0"))
                if b"chunked" in headers.get(b"transfer-encoding", b""):
                    conn.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n")
                    return
                take = min(left, len(pending))
                left -= take
                pending = pending[take:]
                received = take
                while left:
                    n = conn.recv_into(view, min(left, len(buf)))
                    if not n:
                        return
                    left -= n
                    received += n
                with self._lock:
                    self.bytes += received
                conn.sendall(b'HTTP/1.1 200 OK\r\nETag: "sink"\r\nContent-Length: 0\r\n\r\n')
        finally:
            conn.close()


class SinkApi:
    """Stand-in for the videos API whose pre-signed URLs all point at the sink."""

    def __init__(self, base: str) -> None:
        self.base = base

    def upload_url(self, video_id: str, *, content_type: str, size: int,
                   sha256_b64: str | None = None) -> dict[str, Any]:
        return {"uploadUrl": f"{self.base}/{video_id}", "headers": {"Content-Type": content_type}}

    def create_multipart(self, video_id: str, *, size: int, part_size: int,
                         content_type: str) -> dict[str, Any]:
        return {"uploadId": "u1", "partSizeBytes": part_size}

    def sign_parts(self, video_id: str, upload_id: str, parts: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
        return [{"partNumber": p["partNumber"],
                 "url": f"{self.base}/{video_id}?partNumber={p['partNumber']}&uploadId=u1",
                 "headers": {"Content-Length": str(p["contentLength"]),
                             "x-amz-checksum-crc64nvme": p["checksumCRC64NVME"]}}
                for p in parts]

    def list_parts(self, video_id: str, upload_id: str) -> list[dict[str, Any]]:
        return []

    def complete_multipart(self, video_id: str, upload_id: str, parts: list[dict[str, Any]],
                           *, checksum_crc64nvme: str) -> dict[str, Any]:
        return {"videoId": video_id}

    def abort_multipart(self, video_id: str, upload_id: str) -> None:
        pass

    def create_video(self, payload: dict[str, Any]) -> Any:
        return SimpleNamespace(status="uploaded", version=1)

    def update_video(self, video_id: str, **kw: Any) -> Any:
        return SimpleNamespace(status="ready", version=2)

    def get_video(self, video_id: str) -> Any:
        return SimpleNamespace(status="uploaded", version=1)

    def thumbnail_upload_url(self, video_id: str) -> dict[str, Any]:
        return {"uploadUrl": f"{self.base}/thumb", "headers": {"Content-Type": "image/jpeg"}}

    def find_duplicates(self, **kw: Any) -> list[dict[str, Any]]:
        return []

    def ping(self) -> bool:
        return True


def _fake_probe(path: Path) -> Any:
    return SimpleNamespace(api_fields=lambda: {"recordedAt": "2025-01-01T00:00:00Z",
                                               "mimeType": "video/mp4", "durationSec": 1.0})


def make_file(path: Path, size: int, *, sparse: bool = False) -> Path:
    with path.open("wb") as fh:
        if sparse:
            fh.truncate(size)
        else:
            block = os.urandom(MIB)
            for _ in range(size // MIB):
                fh.write(block)
            fh.write(block[: size % MIB])
    return path


def make_engine(api: Any, *, home: Path, settings: Any = None, user: str = "bench",
                probe: Any = _fake_probe) -> Any:
    from medispecs_desktop.core.uploads.engine import EngineOptions, UploadEngine
    from medispecs_desktop.core.uploads.store import QueueStore

    db = home / f"q-{time.monotonic_ns()}.sqlite3"
    return UploadEngine(
        QueueStore(db), api, user, settings=settings,
        options=EngineOptions(cloud_duplicate_check=False, **ENGINE_OPTIONS),
        probe=probe, thumbnail=lambda _p: b"\xff\xd8\xff\xd9",
    )


def engine_upload(api: Any, path: Path, *, home: Path, settings: Any = None,
                  user: str = "bench", probe: Any = _fake_probe, engine: Any = None) -> float:
    """Seconds for the engine to take the file from queued to done: ``engine`` (started, kept
    running: the app's one engine, whose part buffers serve the next file), else a new one,
    stopped after."""
    from medispecs_desktop.core.uploads.jobs import JobState

    own = engine is None
    if engine is None:
        engine = make_engine(api, home=home, settings=settings, user=user, probe=probe)
    marks: dict[str, float] = {}
    ended = threading.Event()

    def mark(job: Any) -> None:  # when each state was first reached
        marks.setdefault(job.state.value, time.perf_counter())
        if job.state.is_terminal:
            ended.set()  # told by the engine, as the app is (no queue re-read per change)

    unsubscribe = engine.subscribe_jobs(mark)
    if own:
        engine.start()
    hash_cpu0 = _threads_cpu("hash")  # the engine's hashing pool
    cpu0 = _cpu_now()
    t0 = time.perf_counter()
    job = engine.add_paths([path]).added[0]
    ok = ended.wait(3600)
    elapsed = time.perf_counter() - t0
    cpu = _cpu_now() - cpu0
    hash_cpu = _threads_cpu("hash") - hash_cpu0
    final = engine.job(job.id)
    unsubscribe()
    if own:
        engine.stop()
        engine.store.close()
    else:
        engine.remove(job.id)  # (the same file again is a new upload, not "done before")
    if not ok or final.state is not JobState.DONE:
        raise SystemExit(f"engine upload failed: {final.state} {final.error}")
    LAST_PHASES.update(
        bytes_s=marks.get("finalizing", t0) - marks.get("uploading", t0),
        record_s=marks.get("done", t0) - marks.get("finalizing", t0),
        cpu_s=cpu,
        hash_cpu_s=hash_cpu,
        part_size=final.part_size or final.size,
    )
    return elapsed


def _threads_cpu(prefix: str) -> float:
    """CPU seconds of this process's live threads named ``prefix...`` (Linux; else 0)."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith(prefix) and thread.native_id is not None:
            task = Path(f"/proc/self/task/{thread.native_id}")
            try:  # nanoseconds on the CPU (stat's ticks are 10 ms: 0.02 CPU-s/GB at 537 MB)
                total += int((task / "schedstat").read_text().split()[0]) / 1e9
                continue
            except (OSError, ValueError, IndexError):
                pass
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _process_cpu(pid: int) -> float:
    """CPU seconds another process (the demo stack's child) used so far: all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


LAST_PHASES: dict[str, float] = {}
ENGINE_OPTIONS: dict[str, Any] = {}  # --part-mb


def curl_upload(url: str, path: Path, headers: dict[str, str] | None = None) -> float:
    cmd = ["curl", "-sS", "-f", "-T", str(path), "-o", "/dev/null", "-H", "Expect:"]
    for k, v in (headers or {}).items():
        if k.lower() != "content-length":
            cmd += ["-H", f"{k}: {v}"]
    t0 = time.perf_counter()
    subprocess.run([*cmd, url], check=True)
    return time.perf_counter() - t0


class SinkProcess:
    """The sink in its own process, so it never competes with the client for the GIL."""

    def __init__(self) -> None:
        # stdin is a pipe the child watches: it exits when this process dies, however it dies
        self.proc = subprocess.Popen([sys.executable, __file__, "_sink"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


# --------------------------------------------------------------------------- benches
def openssl_sha256(path: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) of ``openssl dgst -sha256`` over the file: one SHA-256 stream,
    the physical limit of a client that must hash every byte once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def read_hash_alone(path: Path, part_size: int, pool: Any) -> float:
    """CPU seconds of this process reading, CRC'ing and SHA-256'ing ``path`` with the engine's
    own :class:`FileReader` on ``pool`` (a :class:`HashPool` kept for the run, as the app's
    engine keeps its own: its part buffers serve the next run), and nothing else: no sending,
    no API, no journal. A few parts are read ahead; each is dropped once read."""
    from medispecs_desktop.core.uploads.reader import FileReader

    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    cpu0 = _cpu_now()
    try:
        reader = FileReader(fd, size, part_size, path.name, pool)
        ahead = 4
        futures = [reader.submit(n) for n in range(1, min(ahead, reader.count) + 1)]
        for n in range(1, reader.count + 1):
            part = futures[n - 1].result()
            reader.release(part)
            if n + ahead <= reader.count:
                futures.append(reader.submit(n + ahead))
        reader.sha256()
        reader.drain()
        return _cpu_now() - cpu0
    finally:
        os.close(fd)


def send_alone(url: str, size: int, part_size: int) -> float:
    """CPU seconds of this process sending ``size`` bytes to the sink as the engine's parts
    go, one PUT of ``part_size`` bytes after another on one keep-alive connection, each body
    one ``sendall`` of a part buffer already in memory (not hashed, not read from the file:
    the least a client that keeps each part until it is acknowledged can spend sending)."""
    from medispecs_desktop.core.uploads.reader import new_buffer

    host, _, port = url.removeprefix("http://").partition(":")
    part = memoryview(new_buffer(part_size))
    sock = socket.create_connection((host, int(port)))
    cpu0 = _cpu_now()
    try:
        sent = 0
        while sent < size:
            n = min(part_size, size - sent)
            sock.sendall(f"PUT /floor HTTP/1.1\r\nHost: {host}\r\nContent-Length: {n}\r\n\r\n"
                         .encode())
            sock.sendall(part[:n])
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    raise SystemExit("the sink closed the connection")
                answer += chunk
            if not answer.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"the sink answered {answer[:40]!r}")
            sent += n
        return _cpu_now() - cpu0
    finally:
        sock.close()


def _cpu_of(fn: Any, *, children: bool = False) -> tuple[float, float]:
    """(seconds, CPU seconds) of ``fn()``: this process's CPU, or its children's."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    before = resource.getrusage(who)
    elapsed = fn()
    after = resource.getrusage(who)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_sink(size_mb: int, tmp: Path, pairs: int = 5) -> None:
    """Alternating runs (engine, curl -T, openssl dgst -sha256) of the same file; the goal is
    engine >= 0.9 x min(curl, openssl) and <= 1.0 CPU-s/GB. Prints each pair's ratios and
    their medians."""
    sink = SinkProcess()
    path = make_file(tmp / "sink.mp4", size_mb * MIB)
    size = path.stat().st_size
    api = SinkApi(sink.url)
    # the app's engine: made once and kept (a queue's files share its hashing pool and part
    # buffers); a fresh engine per upload is measured beside it (its first file pays for new
    # part buffers: six of 16 MiB zeroed and mapped, ~0.03-0.06 CPU-s/GB of this file)
    app_engine = make_engine(api, home=tmp)
    app_engine.start()
    engine_upload(api, path, home=tmp, engine=app_engine)  # warm up (page cache, imports)
    from medispecs_desktop.core.uploads.reader import HashPool

    read_pool = HashPool(spare_seconds=3600.0)  # the reader measured alone, its buffers kept
    read_hash_alone(path, int(LAST_PHASES["part_size"]), read_pool)  # (made here, not timed)
    rows = []
    for i in range(pairs):
        e_s = engine_upload(api, path, home=tmp, engine=app_engine)
        e_cpu = LAST_PHASES["cpu_s"]  # from queued to done, as the time
        e_hash = LAST_PHASES["hash_cpu_s"]
        part_size = int(LAST_PHASES["part_size"])
        f_s, f_cpu_all = _cpu_of(lambda: engine_upload(api, path, home=tmp))
        f_cpu = LAST_PHASES["cpu_s"]  # (f_cpu_all adds making and stopping that engine)
        c_s, c_cpu = _cpu_of(lambda: curl_upload(f"{sink.url}/curl", path), children=True)
        o_s, o_cpu = openssl_sha256(path)
        r_cpu = read_hash_alone(path, part_size, read_pool)
        s_cpu = send_alone(sink.url, size, part_size)
        limit_s = max(c_s, o_s)  # the slower of the two bounds the engine
        row = {"pair": i + 1, "engine_MBps": round(size / e_s / 1e6), "curl_MBps":
               round(size / c_s / 1e6), "sha256_MBps": round(size / o_s / 1e6),
               "vs_curl": round(c_s / e_s, 2), "vs_limit": round(limit_s / e_s, 2),
               "engine_cpu_s_per_GB": round(e_cpu / (size / 1e9), 2),
               "fresh_engine_vs_limit": round(limit_s / f_s, 2),
               "fresh_engine_cpu_s_per_GB": round(f_cpu / (size / 1e9), 2),
               "fresh_engine_cpu_with_setup": round(f_cpu_all / (size / 1e9), 2),
               # the read + CRC64NVME + SHA-256 thread alone: openssl's work plus keeping
               # each part in memory (a copy into a cold buffer) and the CRC
               "engine_hash_thread_cpu_s_per_GB": round(e_hash / (size / 1e9), 2),
               # everything else the engine's threads spent: sending (part threads),
               # buffers and the flow (job thread), the journal - the goal's margin
               "engine_other_cpu_s_per_GB": round((e_cpu - e_hash) / (size / 1e9), 2),
               "curl_cpu_s_per_GB": round(c_cpu / (size / 1e9), 2),
               "sha256_cpu_s_per_GB": round(o_cpu / (size / 1e9), 2),
               # the engine's two jobs done apart, each alone on the machine: its reader
               # (read, CRC64NVME, SHA-256 into part buffers) and sending parts from memory;
               # their sum is the least the engine's design can cost (no sending without
               # the part's checksum signed first, each part kept until it is acknowledged)
               "read_hash_alone_cpu_s_per_GB": round(r_cpu / (size / 1e9), 2),
               "send_alone_cpu_s_per_GB": round(s_cpu / (size / 1e9), 2),
               "floor_cpu_s_per_GB": round((r_cpu + s_cpu) / (size / 1e9), 2),
               "engine_cpu_vs_floor": round(e_cpu / (r_cpu + s_cpu), 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    app_engine.stop()
    app_engine.store.close()
    read_pool.shutdown()
    sink.close()
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "pair"}
    print(json.dumps({"bench": f"sink, median of {pairs} alternating runs", "MB":
                      round(size / 1e6), **med, "load": os.getloadavg()[0]}), flush=True)


def queue_cpu(api: Any, paths: list[Path], *, home: Path) -> float:
    """CPU-s/GB of this process while one engine uploads a queue of files (the app's case:
    the files of a queue share the engine's hashing pool and part buffers)."""
    engine = make_engine(api, home=home)
    ended: set[int] = set()
    all_done = threading.Event()

    def mark(job: Any) -> None:
        if job.state.is_terminal:
            ended.add(job.id)
            if len(ended) == len(paths):
                all_done.set()

    engine.subscribe_jobs(mark)
    engine.start()
    cpu0 = _cpu_now()
    engine.add_paths(paths)
    ok = all_done.wait(3600)
    cpu = _cpu_now() - cpu0
    states = [engine.job(i).state.value for i in ended]
    engine.stop()
    engine.store.close()
    if not ok or set(states) != {"done"}:
        raise SystemExit(f"queue upload failed: {states}")
    return cpu / (sum(p.stat().st_size for p in paths) / 1e9)


def bench_queue(files: int, size_mb: int, tmp: Path, pairs: int) -> None:
    """A queue of ``files`` different files of ``size_mb`` to the sink, ``pairs`` times."""
    paths = [make_file(tmp / f"queue-{i}.mp4", size_mb * MIB + i * 4096) for i in range(files)]
    sink = SinkProcess()
    try:
        api = SinkApi(sink.url)
        engine_upload(api, paths[0], home=tmp)  # warm: imports, first connections
        runs = [queue_cpu(api, paths, home=tmp) for _ in range(pairs)]
    finally:
        sink.close()
    print(json.dumps({"bench": f"queue of {files} x {size_mb} MB to the sink",
                      "engine_cpu_s_per_GB": round(statistics.median(runs), 3),
                      "runs": [round(r, 3) for r in runs], "load": os.getloadavg()[0]}))


def _settle(pid: int, quiet_cpu_s: float = 0.01, every_s: float = 0.25) -> None:
    """Wait until the stack child is idle (less than ``quiet_cpu_s`` of CPU in ``every_s``):
    its processing of the last recording (a GET of the whole object, the poster, the preview
    sheet) would otherwise run during the next timed upload and slow whichever comes next."""
    last = _process_cpu(pid)
    while True:
        time.sleep(every_s)
        now = _process_cpu(pid)
        if now - last < quiet_cpu_s:
            return
        last = now


def _processed(api: Any, pid: int, bound_s: float = 300.0) -> None:
    """Wait until the stack has processed every recording the benchmark made (status ready
    or error), then until it is idle: processing starts some seconds after an upload (the
    queue holds each event, ``EVENT_DELAY_SECONDS``), so an idle stack right after an upload
    does not mean its processing is over, and it would run into the next timed upload."""
    bound = time.monotonic() + bound_s
    while any(v.status not in ("ready", "error") for v in api.iter_videos()
              if v.title == "stack"):
        if time.monotonic() > bound:
            raise SystemExit("the stack did not process the benchmark's recordings")
        time.sleep(0.25)
    _settle(pid)


def _forget_uploads(api: Any, s3: Any, bucket: str, curl_key: str) -> None:
    """Delete for good what a pair uploaded (the engine's recordings via Trash and purge, every
    version of curl's object): moto keeps every byte, and a stack holding a GB more each pair
    grew slower and slower (3 to 14 CPU-s per GB within ten pairs), timing the stack's memory
    instead of the uploads."""
    for video in list(api.iter_videos()):
        if video.title == "stack":  # the benchmark file's (not the demo's own recordings)
            api.delete_video(video.video_id)
            api.purge_video(video.video_id)
    listed = s3.list_object_versions(Bucket=bucket, Prefix=curl_key)
    for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])


def bench_stack(size_mb: int, tmp: Path, pairs: int = 5) -> None:
    import boto3

    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.core.config import Settings
    from medispecs_desktop.core.hashing import sha256_file
    from medispecs_desktop.local.child import start_stack_process, stop_stack_process
    from medispecs_desktop.local.samples import make_video

    proc, info = start_stack_process()
    try:
        settings = Settings(api_url=info["apiUrl"], region=info["region"],
                            user_pool_id=info["userPoolId"], client_id=info["clientId"],
                            cognito_endpoint=info["awsEndpoint"])
        auth = CognitoAuth(settings, MemoryTokenStore())
        user = auth.sign_in(info["username"], info["password"])
        api = ApiClient(settings, auth)
        # a real (tiny) video with the bulk appended: probe needs a video, moto needs RAM
        base = make_video(tmp / "stack.mp4", seconds=1)
        with base.open("ab") as fh:
            block = os.urandom(MIB)
            for _ in range(size_mb):
                fh.write(block)
        size = base.stat().st_size
        s3 = boto3.client("s3", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                          aws_access_key_id="local", aws_secret_access_key="local")
        rows = []
        gb = size / 1e9
        for i in range(pairs):
            with base.open("r+b") as fh:  # a new file each time: never a duplicate
                fh.seek(size - 16)
                fh.write(os.urandom(16))
            digest = sha256_file(base)
            signed = api.upload_url("v_benchcurl0001", content_type="video/mp4", size=size,
                                    sha256_b64=digest.b64digest())
            curl_first = i % 2 == 1
            for side in ("curl", "engine") if curl_first else ("engine", "curl"):
                _processed(api, proc.pid)  # the last recording processed, the stack idle
                s0 = _process_cpu(proc.pid)
                if side == "engine":
                    e = engine_upload(api, base, home=tmp, settings=settings, user=user.sub,
                                      probe=lambda p: SimpleNamespace(api_fields=lambda: {
                                          "recordedAt": "2025-01-01T00:00:00Z",
                                          "mimeType": "video/mp4", "durationSec": 1.0}))
                    bytes_s = LAST_PHASES["bytes_s"]
                    engine_cpu = LAST_PHASES["cpu_s"]
                    stack_engine = _process_cpu(proc.pid) - s0
                else:
                    c = curl_upload(signed["uploadUrl"], base, signed.get("headers"))
                    stack_curl = _process_cpu(proc.pid) - s0
            _processed(api, proc.pid)
            _forget_uploads(api, s3, info["bucket"], signed["s3Key"])
            row = {"pair": i + 1, "curl_first": curl_first,
                   "engine_MBps": round(size / e / 1e6, 1),
                   "curl_MBps": round(size / c / 1e6, 1), "vs_curl": round(c / e, 2),
                   "bytes_phase_vs_curl": round(c / bytes_s, 2),
                   "engine_cpu_s_per_GB": round(engine_cpu / gb, 2),
                   "stack_cpu_s_per_GB_engine": round(stack_engine / gb, 2),
                   "stack_cpu_s_per_GB_curl": round(stack_curl / gb, 2),
                   "load": os.getloadavg()[0]}
            rows.append(row)
            print(json.dumps(row), flush=True)
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]
               if k not in ("pair", "curl_first")}
        print(json.dumps({"bench": f"local stack, end to end (parts + complete + record + "
                          f"thumbnail), median of {pairs} alternating runs",
                          "MB": round(size / 1e6), **med}), flush=True)
    finally:
        stop_stack_process(proc)


def _peak_rss_mib() -> float:
    """This process's own peak RSS. VmHWM belongs to the address space made at exec;
    getrusage's ru_maxrss would also count the parent's peak (Linux folds it in at exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _rss_child(size: int, sparse: bool, tmp: Path) -> None:
    sink = SinkProcess()
    path = make_file(tmp / f"rss-{size}.mp4", size, sparse=sparse)
    try:
        elapsed = engine_upload(SinkApi(sink.url), path, home=tmp)
    finally:
        sink.close()
    peak = _peak_rss_mib()
    print(json.dumps({"size_MB": round(size / 1e6), "peak_rss_MiB": round(peak, 1),
                      "MBps": round(size / elapsed / 1e6, 1)}), flush=True)
    path.unlink()


def bench_rss(big_gb: float, tmp: Path) -> None:
    rows = []
    for size, sparse in ((100 * MIB, False), (int(big_gb * 1024**3), True)):
        out = subprocess.run(
            [sys.executable, __file__, "_rss", str(size), str(int(sparse)), str(tmp)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        print(out, flush=True)
    ratio = rows[1]["peak_rss_MiB"] / rows[0]["peak_rss_MiB"]
    print(json.dumps({"bench": "rss", "ratio_big_vs_100MB": round(ratio, 2),
                      "goal": "<= 1.2 and <= 150 MiB"}), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_sink":
        sink = Sink()
        print(sink.url, flush=True)
        sys.stdin.read()  # EOF: the parent is gone
        os._exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "_rss":
        _rss_child(int(sys.argv[2]), sys.argv[3] == "1", Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", default=["sink", "stack", "rss"])
    parser.add_argument("--mb", type=int, default=512, help="file size for the sink bench")
    parser.add_argument("--stack-mb", type=int, default=100)
    parser.add_argument("--big-gb", type=float, default=4.0)
    parser.add_argument("--files", type=int, default=6, help="files in the queue bench")
    parser.add_argument("--queue-mb", type=int, default=128, help="file size, queue bench")
    parser.add_argument("--part-mb", type=int, help="engine's minimum part size (MiB)")
    parser.add_argument("--pairs", type=int, default=5,
                        help="alternating runs for sink and stack")
    args = parser.parse_args()
    if args.part_mb:
        ENGINE_OPTIONS["min_part_size"] = args.part_mb * MIB
    if not shutil.which("curl"):
        raise SystemExit("curl is needed for the comparison")
    import logging

    logging.basicConfig(level=logging.INFO if os.environ.get("BENCH_VERBOSE") else logging.WARNING,
                        format="%(relativeCreated)6d %(threadName)s %(name)s: %(message)s")
    tmp = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    os.environ.setdefault("MEDISPECS_HOME", str(tmp / "home"))
    try:
        if "sink" in args.which:
            bench_sink(args.mb, tmp, args.pairs)
        if "queue" in args.which:
            bench_queue(args.files, args.queue_mb, tmp, args.pairs)
        if "stack" in args.which:
            bench_stack(args.stack_mb, tmp, args.pairs)
        if "rss" in args.which:
            bench_rss(args.big_gb, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
