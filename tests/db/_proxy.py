"""A fault-injecting TCP proxy for the tests: a bad network between the app and its database.

::

    with FaultyLink("127.0.0.1", 5432) as link:
        url = link.url(database_url)     # the same URL, through the proxy
        link.delay(0.1)                  # +100 ms on every round trip
        link.reset_all()                 # RST every open connection now
        link.reset_after(200)            # RST a connection once 200 more bytes went to the server
        link.reset_on(b"COMMIT", deliver=True)  # COMMIT reaches the server, its answer never returns
        link.blackhole()                 # accept, never forward (and swallow what is sent)
        link.heal()                      # a clean link again

The proxy listens on ``127.0.0.1`` on a free port and runs an asyncio loop in its own thread,
so it keeps relaying while the test's loop (or a sync driver in a thread) is blocked. Every
loop is bounded: each read takes at most ``_CHUNK`` bytes and stops at EOF; waits for a
server's answer give up after ``ANSWER_WAIT`` seconds; stopping waits at most
``_STOP_WAIT`` seconds for the thread. ``fired`` counts the faults that actually happened,
so a test can check that the fault it arranged did hit a connection.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy.engine import make_url

__all__ = ["FaultyLink"]

_CHUNK = 65536
#: Seconds the proxy waits for the server's answer to a delivered statement before it resets.
ANSWER_WAIT = 5.0
_STOP_WAIT = 10.0


@dataclass(eq=False)
class _Pair:
    """One client connection and its server connection."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    answers: asyncio.StreamReader | None = None
    #: The task relaying the server's answers to the client.
    downstream: asyncio.Task[None] | None = None
    #: The blackhole swallowed bytes of this pair: its protocol state is lost for good.
    swallowed: bool = False
    #: The proxy took the server's answers over from the relay (``reset_on(deliver=True)``).
    detached: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FaultyLink:
    """A TCP proxy from ``127.0.0.1:<free port>`` to ``host:port`` that injects faults."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        #: Faults that happened: ``{"reset": n, "reset_after": n, "reset_on": n, ...}``.
        self.fired: dict[str, int] = {}
        #: Connections accepted so far.
        self.connections = 0
        self._latency = 0.0
        self._blackhole = False
        self._reset_budget: int | None = None
        self._reset_pattern: tuple[re.Pattern[bytes], bool] | None = None
        self._pairs: set[_Pair] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaultyLink:
        self._thread.start()
        self._call(self._start)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._call(self._stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_STOP_WAIT)
        self._loop.close()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        rewritten = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return rewritten.render_as_string(hide_password=False)

    # --- faults ------------------------------------------------------------------------------

    def delay(self, seconds: float) -> None:
        """Add ``seconds`` to every round trip (half on the way out, half on the way back)."""
        self._latency = seconds / 2

    def reset_all(self) -> int:
        """Reset (RST) every open connection now; return how many there were."""
        count: int = self._call(self._reset_all)
        return count

    def reset_after(self, n_bytes: int) -> None:
        """Reset the connection that sends the ``n_bytes``-th byte towards the server from now
        on (that byte and the rest of its chunk are not delivered). Fires once."""
        self._reset_budget = n_bytes

    def reset_on(self, pattern: bytes | re.Pattern[bytes], *, deliver: bool) -> None:
        """Reset the connection whose next bytes to the server contain ``pattern`` (bytes, or
        a compiled regular expression; at most 64 bytes long). Fires once.

        ``deliver=False``: the bytes never reach the server. ``deliver=True``: they do, the
        proxy waits for the server's answer (at most ``ANSWER_WAIT`` s) and drops it, then
        resets the client: the statement ran and the client never hears how it went.
        """
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, bytes) else pattern
        self._reset_pattern = (regex, deliver)

    def blackhole(self) -> None:
        """Accept connections and never forward a byte, either way, on new and open
        connections alike: a server (or a route to it) that went silent."""
        self._blackhole = True

    def heal(self) -> None:
        """Remove every fault. Open connections whose bytes the blackhole swallowed are
        reset: their peers' protocol state is lost (their timeouts would have ended them)."""
        self._latency = 0.0
        self._reset_budget = None
        self._reset_pattern = None
        self._blackhole = False
        self._call(self._reset_swallowed)

    # --- the relay (runs in the proxy's thread) ----------------------------------------------

    def _call(self, function: Callable[[], Any]) -> Any:
        async def run() -> Any:
            result = function()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_STOP_WAIT)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all(count_as=None)
        tasks = [task for pair in self._pairs for task in pair.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _count(self, fault: str) -> None:
        self.fired[fault] = self.fired.get(fault, 0) + 1

    def _reset_all(self, count_as: str | None = "reset") -> int:
        pairs = list(self._pairs)
        for pair in pairs:
            self._reset(pair)
            if count_as is not None:
                self._count(count_as)
        return len(pairs)

    def _reset_swallowed(self) -> None:
        for pair in [pair for pair in self._pairs if pair.swallowed]:
            self._reset(pair)
            self._count("reset_swallowed")

    def _reset(self, pair: _Pair) -> None:
        """RST both sides of ``pair`` (``SO_LINGER`` 0, then abort)."""
        self._pairs.discard(pair)
        for writer in (pair.client, pair.server):
            if writer is None or writer.transport.is_closing():
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pair = _Pair(writer)
        self._pairs.add(pair)
        self.connections += 1
        try:
            while self._blackhole and pair in self._pairs:  # accepted, never connected onward
                pair.swallowed = True
                if not await reader.read(_CHUNK):
                    return
            if pair not in self._pairs:
                return
            server_reader, server_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), ANSWER_WAIT
            )
        except (OSError, asyncio.TimeoutError):
            self._reset(pair)
            return
        pair.server, pair.answers = server_writer, server_reader
        pair.downstream = asyncio.ensure_future(
            self._pump(pair, server_reader, writer, upstream=False)
        )
        own = asyncio.current_task()
        pair.tasks = [pair.downstream, *([own] if own is not None else [])]
        await self._pump(pair, reader, server_writer, upstream=True)

    async def _pump(
        self,
        pair: _Pair,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        upstream: bool,
    ) -> None:
        """Relay ``reader`` to ``writer`` until EOF or a fault ends the pair."""
        tail = b""  # the end of the previous chunk: a pattern may straddle two chunks
        try:
            while pair in self._pairs:
                chunk = await reader.read(_CHUNK)
                if not chunk:
                    break
                if self._blackhole:
                    pair.swallowed = True
                    continue
                if self._latency:
                    await asyncio.sleep(self._latency)
                if upstream and await self._upstream_fault(pair, tail, chunk, writer):
                    return
                tail = chunk[-64:]
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if pair in self._pairs and not pair.detached:  # one side ended: pass it on
                if upstream or pair.swallowed:
                    self._reset(pair)
                else:
                    self._pairs.discard(pair)
                    for side in (pair.client, pair.server):
                        if side is not None:
                            side.close()

    async def _upstream_fault(
        self, pair: _Pair, tail: bytes, chunk: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Apply an armed reset to a chunk bound for the server; True when the pair is gone."""
        if self._reset_budget is not None:
            budget, self._reset_budget = self._reset_budget, self._reset_budget - len(chunk)
            if self._reset_budget <= 0:
                self._reset_budget = None
                if budget > 1:  # the bytes before the n-th go through: a message cut short
                    writer.write(chunk[: budget - 1])
                    await writer.drain()
                self._count("reset_after")
                self._reset(pair)
                return True
        armed = self._reset_pattern
        if armed is None:
            return False
        # A match must end in this chunk: the tail of the previous one was already relayed.
        match = armed[0].search(tail + chunk)
        if match is None or match.end() <= len(tail):
            return False
        self._reset_pattern = None
        deliver = armed[1]
        if deliver:
            await self._deliver_unanswered(pair, chunk, writer)
        self._count("reset_on")
        self._reset(pair)
        return True

    async def _deliver_unanswered(
        self, pair: _Pair, chunk: bytes, writer: asyncio.StreamWriter
    ) -> None:
        """Send ``chunk`` to the server and wait for its answer (at most ``ANSWER_WAIT``
        seconds), which never reaches the client."""
        pair.detached = True
        if pair.downstream is not None:  # take the server's side over from the relay
            pair.downstream.cancel()
            await asyncio.gather(pair.downstream, return_exceptions=True)
        writer.write(chunk)
        await writer.drain()
        if pair.answers is not None:
            try:
                await asyncio.wait_for(pair.answers.read(_CHUNK), ANSWER_WAIT)
            except (OSError, asyncio.TimeoutError):
                pass
