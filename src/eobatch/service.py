"""Assembles a running eobatch: database, scheduler with its executor, and the HTTP app under uvicorn.

`eobatch serve` runs it in the foreground; `eobatch demo` and the end-to-end tests run it in a thread.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from eobatch.settings import Settings
from eobatch.store.db import Database

log = logging.getLogger("eobatch.service")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """The API server and (optionally) the scheduler, sharing one database."""

    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8080
    run_scheduler: bool = True
    database: Database = field(init=False)
    scheduler: Any = field(init=False, default=None)
    _server: uvicorn.Server | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(self.settings.resolved_database_url())
        self.database.migrate()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _make_server(self) -> uvicorn.Server:
        from eobatch.api.app import create_app

        app = create_app(self.settings, database=self.database)
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False)
        return uvicorn.Server(config)

    def _start_scheduler(self) -> None:
        if not self.run_scheduler:
            return
        from eobatch.engine import Scheduler, make_executor

        self.scheduler = Scheduler(self.settings, self.database, make_executor(self.settings))
        self.scheduler.start()

    def start_in_thread(self, timeout: float = 30.0) -> Service:
        """Start the scheduler and serve HTTP in a background thread; returns once the port answers."""
        self._start_scheduler()
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._server.run, name="eobatch-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the HTTP server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def serve_forever(self) -> None:
        """Run in the foreground until SIGTERM or SIGINT, then shut down cleanly and return.

        The HTTP server stops taking requests, the scheduler stops dispatching, running tiles get
        `Settings.shutdown_grace_s` to finish, the others go back to PENDING, leases are released and
        the workers stop. uvicorn's own handlers re-raise the signal when it returns (which would
        kill the process before any of that); the handlers installed here absorb it instead.
        """
        exit_requested = threading.Event()

        def request_exit(signum: int, _frame: Any) -> None:
            log.info("received %s: shutting down", signal.Signals(signum).name)
            exit_requested.set()
            if self._server is not None:
                self._server.should_exit = True

        previous = {sig: signal.signal(sig, request_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._start_scheduler()
            self._server = self._make_server()
            if not exit_requested.is_set():
                self._server.run()
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.database.dispose()
