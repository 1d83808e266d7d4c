"""Run the emulator under uvicorn: in a thread for one command, or standalone."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from powsoo_cli.sandbox.app import create_app
from powsoo_cli.sandbox.state import SandboxConfig, SandboxState

STARTUP_TIMEOUT = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind first, so that port 0 gives a free port we know before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when
    # their proto says TCP; without it keep-alive answers wait ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn, ending open streams and held webhooks as it stops: left open,
    they would hold the stop up, then be cancelled with a logged traceback."""

    def __init__(self, config: uvicorn.Config, state: SandboxState) -> None:
        super().__init__(config)
        self.sandbox_state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.sandbox_state.close_all()
        await super().shutdown(sockets)


def _server(config: SandboxConfig, log_level: str) -> uvicorn.Server:
    state = SandboxState(config)
    uvicorn_config = uvicorn.Config(
        create_app(config, state=state),
        log_level=log_level,
        # uvicorn's access log would print query strings, which may hold tokens.
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        log_config=None,
    )
    return _Server(uvicorn_config, state)


@dataclass
class RunningSandbox:
    url: str
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_in_thread(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Start the sandbox on a loopback port for as long as the caller needs it."""
    sock = bind_socket(host, port)
    server = _server(config or SandboxConfig(), "warning")
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name="powsoo-sandbox",
        daemon=True,
    )
    thread.start()

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the embedded sandbox did not start")
        time.sleep(0.002)

    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningSandbox(f"http://{shown_host}:{bound_port}", server, thread)


def serve_forever(config: SandboxConfig, sock: socket.socket) -> None:
    """Serve on a bound socket in the foreground until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s sandbox: %(message)s", force=True
    )
    server = _server(config, "info")
    asyncio.run(server.serve(sockets=[sock]))
