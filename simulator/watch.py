"""``moesim serve --watch DIR`` (an edge): connector configs in DIR are uploaded once the server
is ready, and again (a new version) whenever a file changes, so the next send uses the edit.
The watcher is a client of its own server, doing what ``moesim connectors push`` does; a
config with mistakes is reported as ``FILE:LINE: PATH: message`` lines and left out."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .core.errors import MoesimError

log = logging.getLogger("moesim.watch")


class ConfigWatcher:
    def __init__(self, directory: str, url: str, app_name: str = "My App",
                 interval_s: float = 0.5):
        self.directory = Path(directory)
        self.url = url
        self.app_name = app_name
        self.interval_s = interval_s
        self._seen: dict[Path, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="moesim-watch", daemon=True)

    def start(self) -> "ConfigWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def changed(self) -> list[Path]:
        """The ``*.json`` files that are new or changed (size or mtime) since the last call."""
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                stat = path.stat()
            except OSError:  # removed meanwhile
                continue
            mark = (stat.st_mtime_ns, stat.st_size)
            if self._seen.get(path) != mark:
                self._seen[path] = mark
                found.append(path)
        return found

    def push(self, paths: list[Path]) -> None:
        from .cli_connectors import push_connector
        from .cli_remote import Remote

        remote = Remote(self.url)
        try:
            for path in paths:
                try:
                    answer = push_connector(remote, str(path), self.app_name)
                except MoesimError as error:
                    log.warning("%s (not uploaded)", error.message)
                    for problem in error.errors:
                        log.warning("  %s: %s", problem.path, problem.message)
                    continue
                what = "created" if answer["created"] else f"version {answer['version']}"
                log.info("%s: connector %s (%s) %s", path, answer["id"], answer["name"], what)
                for warning in answer.get("warnings", []):
                    log.warning("  %s: warning: %s: %s", path, warning["path"],
                                warning["message"])
        finally:
            remote.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                paths = self.changed()
                if paths:
                    self.push(paths)
            except Exception:  # the next scan tries again
                log.exception("watching %s failed", self.directory)
            self._stop.wait(self.interval_s)
