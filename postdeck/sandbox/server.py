"""Run a simulator's ASGI app under uvicorn on 127.0.0.1, in a background thread.

The simulators are real HTTP servers so that provider clients are tested over real sockets. A
server can also be taken down and brought back on the same port (`set_down`, `down_for`): new
connections are refused and open ones closed, as when a provider's whole service is unreachable.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxServer:
    """uvicorn serving one ASGI app on a loopback port, started and stopped from Python."""

    def __init__(self, app: Any, *, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            # A request held by a `timeout` fault must not hold up stopping the server.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.port}", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.down = False
        faults = getattr(app, "faults", None)  # a FaultLayer: its `down` rules take this server down
        if faults is not None:
            faults.down_hook = self.down_for

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        self._loop = self._find_loop()
        return self

    def _find_loop(self) -> asyncio.AbstractEventLoop:
        server = self._server.servers[0]
        return server.get_loop()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- a provider that is down ----------------------------------------------------------------

    def set_down(self, down: bool) -> None:
        """Refuse connections (and close open ones) until set_down(False). Callable from any thread;
        from another thread it returns once the change is made."""
        assert self._loop is not None, "start the server first"
        if _on_loop(self._loop):
            self._go_down() if down else asyncio.ensure_future(self._go_up())
            return
        asyncio.run_coroutine_threadsafe(self._set(down), self._loop).result(timeout=5)

    def down_for(self, seconds: float) -> None:
        """Go down now and come back after `seconds` (what a `down` fault does)."""
        assert self._loop is not None, "start the server first"
        loop = self._loop

        def go() -> None:
            self._go_down()
            loop.call_later(seconds, lambda: asyncio.ensure_future(self._go_up()))

        if _on_loop(loop):
            go()
        else:
            loop.call_soon_threadsafe(go)

    async def _set(self, down: bool) -> None:
        if down:
            self._go_down()
        else:
            await self._go_up()

    def _go_down(self) -> None:
        if self.down:
            return
        self.down = True
        for server in self._server.servers:
            server.close()
        self._server.servers = []
        for connection in list(self._server.server_state.connections):
            connection.shutdown()  # idle ones close now, busy ones after their answer

    async def _go_up(self) -> None:
        if not self.down:
            return
        self.down = False  # before the await: a second call must not listen twice
        await self._listen()

    async def _listen(self) -> None:
        config = self._server.config
        server_state = self._server.server_state
        app_state = self._server.lifespan.state

        def protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            # What uvicorn's own startup builds for each connection.
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=server_state, app_state=app_state, _loop=_loop
            )

        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, host="127.0.0.1", port=self.port, reuse_address=True)
        self._server.servers = [server]


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
