"""A server process for the benches: started from argv, its first output line names its
port, its output drained so it never blocks on a full pipe."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A server process whose first output line names its port."""

    def __init__(self, label: str, argv: list[str],
                 url_pattern: str = r"http://127\.0\.0\.1:(\d+)"):
        self.label = label
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        first = ""
        match = None
        for _ in range(50):  # the first line naming the port (a server may log others first)
            first += self.proc.stdout.readline()
            match = re.search(url_pattern, first)
            if match or self.proc.poll() is not None:
                break
        if not match:
            self.stop()
            raise RuntimeError(f"{label} did not start: {first}{self.proc.stdout.read()}")
        self.port = int(match.group(1))
        # keep draining its output, so a chatty server never blocks on a full pipe
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/_sim/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.label} never became ready")

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def cpu_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def rss_mb(self) -> float | None:
        """The process's resident memory (VmRSS from /proc, where there is one)."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
