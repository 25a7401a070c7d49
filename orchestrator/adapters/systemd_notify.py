"""The systemd notify protocol (sd_notify(3)) over a plain datagram socket, no libsystemd.

READY=1 once watching, STATUS= with a one-line summary, WATCHDOG=1 at half the watchdog
interval, STOPPING=1 on the way out, RELOADING=1 on SIGHUP. Without ``$NOTIFY_SOCKET``
every call does nothing; a failed send is logged once and never raised.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import anyio
import structlog
from anyio.abc import TaskStatus

log = structlog.get_logger()


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.enabled = bool(address)
        self.watchdog_interval: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval = int(usec) / 1_000_000 / 2
        self._warned = False

    def notify(self, *lines: str) -> None:
        if not self.enabled:
            return
        payload = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("sd_notify_failed", error=str(exc))

    def ready(self) -> None:
        self.notify("READY=1")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def reloading(self) -> None:
        self.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    async def watchdog_loop(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Ping the watchdog until cancelled; returns at once when systemd asked for none."""
        task_status.started()
        if not self.enabled or self.watchdog_interval is None:
            return
        while True:
            self.watchdog()
            await anyio.sleep(self.watchdog_interval)
