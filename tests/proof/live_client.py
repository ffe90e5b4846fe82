"""A live-feed client that does what a real one must: when its connection drops it reconnects
with ``?since=<last seq it saw>`` and so misses nothing. Runs in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

from websockets.asyncio.client import connect


class ResumingListener:
    def __init__(self, base_url: str, token: str, *, since: int = 0) -> None:
        self.url = base_url.replace("http://", "ws://") + "/api/v1/live"
        self.token = token
        self.last_seq = since
        self.seqs: list[int] = []
        self.messages: list[dict] = []
        self.connects = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True, name="live-listener")

    def start(self) -> ResumingListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_for(self, seq: int, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last_seq >= seq:
                return True
            time.sleep(0.05)
        return False

    async def _main(self) -> None:
        while not self._stop.is_set():
            url = f"{self.url}?since={self.last_seq}"
            headers = {"Authorization": f"Bearer {self.token}"}
            try:
                async with connect(url, additional_headers=headers, open_timeout=3, close_timeout=1) as ws:
                    self.connects += 1
                    while not self._stop.is_set():
                        try:
                            text = await asyncio.wait_for(ws.recv(), timeout=0.2)
                        except TimeoutError:
                            continue
                        message = json.loads(text)
                        if message.get("type") in ("hello", "snapshot"):
                            continue
                        self.seqs.append(message["seq"])
                        self.messages.append(message)
                        self.last_seq = max(self.last_seq, message["seq"])
            except Exception as exc:  # a cut connection: note it and reconnect
                self.errors.append(type(exc).__name__)
                with contextlib.suppress(Exception):
                    await asyncio.sleep(0.2)
