"""Socket writes sized to the link from the first megabytes: what a peer's buffers can absorb
without the link moving a byte is bounded by the send buffer's maximum plus the receive
buffer a peer starts with (not its maximum), so a fast link proves itself after a few MiB.

Before, the bound used the receive buffer's maximum (32 MiB here): 4 parts in flight had to
hand over 144 MiB before a write could grow, so an engine's first fifth of a second always
went in 64 KiB writes (a loopback sink: ~37 MB of a 537 MB upload, ~0.04 CPU-s/GB)."""

from __future__ import annotations

import fcntl
import select
import socket
import struct
import termios

from medispecs_desktop.core.uploads.link import (
    FIRST_BLOCK,
    MAX_BLOCK,
    MIB,
    SOCKET_BUFFER,
    LinkEstimator,
)


def _queued(sock: socket.socket, request: int) -> int:
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), request, b"\0" * 4))[0])


def test_a_peer_that_reads_nothing_absorbs_no_more_than_the_bound() -> None:
    """The bound is sound: a real loopback peer that never reads takes at most
    SOCKET_BUFFER bytes (its receive buffer plus this side's send buffer), however long
    the sender pushes - so bytes beyond it prove that the link (or the peer) moved them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sender = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
        try:
            sender.setblocking(False)
            block = b"\0" * (64 * 1024)
            pushed = 0
            while True:
                try:
                    pushed += sender.send(block)
                except BlockingIOError:
                    # full: room again only if the peer read (it never does)
                    _, writable, _ = select.select([], [sender], [], 0.5)
                    if not writable:
                        break
            held = _queued(peer, termios.FIONREAD)
            unsent = _queued(sender, termios.TIOCOUTQ)
            assert held + unsent == pushed  # every byte is in one of the two buffers
            assert held > 0 and unsent > 0
            assert pushed <= SOCKET_BUFFER
        finally:
            peer.close()
            sender.close()


def test_a_fast_link_gets_big_writes_after_a_few_mib_per_stream() -> None:
    """Four parts in flight to a fast peer: once each stream moved a few MiB beyond the
    bound (well within the first fifth of a second), writes are 4 MiB."""
    now = [100.0]
    link = LinkEstimator(clock=lambda: now[0])
    streams = 4
    with link.stream(), link.stream(), link.stream(), link.stream():
        assert link.block_size() == FIRST_BLOCK
        moved = 0
        while moved < streams * (SOCKET_BUFFER + 2 * MIB):  # at 640 MB/s
            now[0] += 0.0001
            link.add(64 * 1024)
            moved += 64 * 1024
        assert not link.measured()
        assert moved < 40 * MIB  # the old bound (32 MiB receive buffers) would need 144 MiB
        assert link.block_size() == MAX_BLOCK
