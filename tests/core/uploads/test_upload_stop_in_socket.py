"""A pause (or cancel, or sign-out) stops a part whose bytes the socket still holds: the
connection is closed at once, so the server never receives the whole part and S3 cannot complete
it. Before, the stop was only seen between the blocks read from the file: a block (up to 4 MiB)
handed to a socket that the peer drains slowly kept going, and a part whose last block was in
the socket buffers finished after the pause (CI: a part completed after a sign-out).

The peer here is a real TCP server that accepts and then reads nothing at all."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from medispecs_desktop.core.uploads.base import Interrupted
from medispecs_desktop.core.uploads.link import LinkEstimator
from medispecs_desktop.core.uploads.transfer import (
    BufferSlice,
    StalledError,
    make_upload_session,
    put_object,
)

MIB = 1024 * 1024


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A server that accepts one connection and never reads from it (until the test ends);
    the event is set once the client's connection is closed (the server sees EOF/reset)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    port = listener.getsockname()[1]
    closed = threading.Event()
    done = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        done.wait()
        conn.settimeout(10)
        try:  # the test is over: read what is left, to see the client closed
            while conn.recv(1 << 20):
                pass
        except OSError:
            pass
        closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/bucket/key?X-Amz-Signature=x", done
    finally:
        done.set()
        thread.join(timeout=15)
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_stop_closes_a_part_still_in_the_socket(
    silent_server: tuple[str, threading.Event],
) -> None:
    url, _done = silent_server
    stop = threading.Event()
    checks = threading.Event()

    def abort_check() -> None:
        if stop.is_set():
            checks.set()
            raise Interrupted("paused")

    data = memoryview(bytearray(8 * MIB))  # far more than the peer's buffers take
    now = [1000.0]
    link = LinkEstimator(clock=lambda: now[0])
    with link.stream():  # a fast link measured before: this body goes in one 8 MiB write
        for _ in range(30):
            now[0] += 0.01
            link.add(4 * MIB)
    assert link.block_size() >= len(data)
    body = BufferSlice(data, abort_check=abort_check, name="clip.mp4", link=link)
    session = make_upload_session()
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            put_object(session, url, {"Content-Length": str(len(data))}, body,
                       timeout=(5.0, 5.0), link=link)
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    # the body is read and handed to the socket in one block, where it stops: the peer reads
    # nothing. (Before, the stop was seen only at the next block's read, which never came:
    # the part ended as "stalled" after the stall timeout instead of stopping.)
    while sender.is_alive() and body.sent == 0:
        sender.join(0.01)
    stop.set()  # the user pauses while the block is stuck in the socket
    sender.join(60)
    session.close()
    assert not sender.is_alive()
    assert checks.is_set()
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome
    assert not isinstance(outcome[0], StalledError)
