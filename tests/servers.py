"""Real servers for tests that need real concurrency or several processes.

``running_server(settings)`` runs uvicorn in a thread of this process; ``server_process(url)``
starts ``plekwijzer serve`` as a separate process on the same database (several of those are
several API replicas).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from backend.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base_url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server at {base_url} did not start")


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """uvicorn in a thread; yields the base URL."""
    from backend.main import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def server_process(
    database_url: str,
    *,
    secret_key: str,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    log_file: Path | None = None,
) -> Iterator[str]:
    """``plekwijzer serve`` as its own process; yields the base URL. With ``log_file`` the
    process logs at level info (uvicorn's access log included) into that file."""
    port = free_port()
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": database_url,
        "PLEKWIJZER_SECRET_KEY": secret_key,
        "PLEKWIJZER_ENVIRONMENT": "test",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "info" if log_file else "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_sink if (log_sink := log_file.open("ab") if log_file else None) else subprocess.DEVNULL,
        # Its warnings go to a file, never to an unread pipe: a full pipe (64 kB of a periodic
        # task's tracebacks while the database is away) would block the server's event loop.
        stderr=subprocess.STDOUT if log_sink else (errors := tempfile.TemporaryFile()),  # noqa: SIM115 (closed below)
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait_until_up(base_url, process=process)
        except RuntimeError as exc:
            if not log_sink:
                errors.seek(0)
                raise RuntimeError(f"{exc}: {errors.read()[-3000:].decode(errors='replace')}") from None
            raise
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_sink:
            log_sink.close()
        else:
            errors.close()
