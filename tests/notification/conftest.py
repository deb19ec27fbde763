"""SMTP servers that misbehave: one that is not there, one that accepts and never answers."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tapwork.devstack.embedded_pg import free_port


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting is refused at once."""
    return free_port()


@pytest.fixture
def hanging_smtp() -> Iterator[int]:
    """Accepts TCP connections and never sends a greeting (a wedged mail relay)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


class RefusingHandler:
    """Refuses `no-such-user@…` for good (550) and `busy@…` for now (451); keeps the rest."""

    def __init__(self) -> None:
        self.accepted: list[str] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("no-such-user@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[int, RefusingHandler]]:
    handler = RefusingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


class SlowHandler:
    """Takes `delay` seconds to accept each mail (a slow relay); records who got one."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[int, SlowHandler]]:
    handler = SlowHandler(delay=0.3)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()
