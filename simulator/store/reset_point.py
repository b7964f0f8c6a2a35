"""The reset point: the state ``/_sim/reset`` returns to, kept as an undo log beside the database.

Taking it copies no data. It remembers each table's highest rowid (``W``) and puts two TEMP
triggers on the writer connection: before a row at or below ``W`` is first updated or deleted,
its old values are saved into an attached file beside the database (``<db>-reset``). Rows
above ``W`` are new since the point was taken. So its cost is the data that changed, the
append-only tables (events, deliveries, sink requests) cost nothing, and a reset is: delete the
rows above ``W``, put the saved rows back.

Two cases fall back to a whole copy of one table, taken then: deleting a table's top row
``W`` (after it, SQLite can hand out rowids at or below ``W`` again, which the log could not
tell from old ones), and a snapshot restore (a page copy no trigger sees). ``WITHOUT ROWID``
tables (the attribute catalogue, connector versions: small) are copied whole when the point is
taken. Rowids are assumed to be assigned by SQLite (no code inserts an explicit rowid).

The file is session state: replaced when a point is taken (so one left by a killed process is
removed by the next start), deleted by ``drop`` on close.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass

SCHEMA = "resetpt"
SUFFIX = "-reset"
_FULL = "resetpt_full"  # tables copied whole: the log does not apply to them any more
_ALL = "*"  # in _FULL while a reset runs: the triggers stand aside
_SKIPPED = ("_sqlite_migrations",)  # migrations are not undone


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]  # stored columns, without a rowid alias and generated columns
    top: int | None  # the highest rowid when the point was taken; None: WITHOUT ROWID

    @property
    def shadow(self) -> str:
        return _q(f"resetpt_t_{self.name}")  # never "resetpt_full", whatever the name

    def column_list(self, prefix: str = "") -> str:
        return ", ".join(prefix + _q(c) for c in self.columns)


def path_for(db_path: str) -> str:
    return db_path + SUFFIX


def remove_files(db_path: str) -> None:
    for leftover in (path_for(db_path), path_for(db_path) + "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)


class ResetPoint:
    """Lives on the store's writer connection; every method runs under the store's write lock,
    outside a transaction."""

    def __init__(self, conn: sqlite3.Connection, db_path: str):
        self._conn = conn
        self._db_path = db_path
        self._tables: list[_Table] = []
        self.taken = False

    def take(self) -> None:
        """Make the current contents the reset point (the previous one, if any, is dropped)."""
        self.drop()
        remove_files(self._db_path)
        conn = self._conn
        conn.execute(f"ATTACH DATABASE ? AS {SCHEMA}", [path_for(self._db_path)])
        # throw-away state: no journal file, no syncs (a crash discards it anyway)
        conn.execute(f"PRAGMA {SCHEMA}.journal_mode=MEMORY")
        conn.execute(f"PRAGMA {SCHEMA}.synchronous=OFF")
        # REPLACE's implicit deletes fire delete triggers only with this on
        conn.execute("PRAGMA recursive_triggers=ON")
        conn.execute("BEGIN")
        try:
            conn.execute(f"CREATE TABLE {SCHEMA}.{_FULL} (tbl TEXT PRIMARY KEY)")
            self._tables = [self._watch(name) for name in self._table_names()]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self.drop()
            raise
        self.taken = True

    def _table_names(self) -> list[str]:
        return [row[0] for row in self._conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name") if row[0] not in _SKIPPED]

    def _watch(self, name: str) -> _Table:
        conn = self._conn
        info = conn.execute(f"PRAGMA main.table_xinfo({_q(name)})").fetchall()
        # (cid, name, type, notnull, default, pk, hidden): hidden 2/3 are generated columns
        stored = [(col[1], col[2], col[5]) for col in info if col[6] == 0]
        try:
            conn.execute(f"SELECT rowid FROM main.{_q(name)} LIMIT 0")
            without_rowid = False
        except sqlite3.OperationalError:  # no such column: rowid
            without_rowid = True
        if without_rowid:
            table = _Table(name, tuple(c[0] for c in stored), None)
            conn.execute(f"CREATE TABLE {SCHEMA}.{table.shadow} AS SELECT {table.column_list()} "
                         f"FROM main.{_q(name)}")
            return table
        keys = [c for c in stored if c[2]]
        alias = keys[0][0] if len(keys) == 1 and keys[0][1].upper() == "INTEGER" else None
        table = _Table(name, tuple(c[0] for c in stored if c[0] != alias),
                       conn.execute(f"SELECT coalesce(max(rowid), 0) FROM main.{_q(name)}"
                                    ).fetchone()[0])
        conn.execute(f"CREATE TABLE {SCHEMA}.{table.shadow} (_rid INTEGER PRIMARY KEY"
                     + "".join(f", {_q(c)}" for c in table.columns) + ")")
        if table.top:
            self._triggers(table)
        return table

    def _triggers(self, table: _Table) -> None:
        top, name = table.top, _q(table.name)
        live = f"NOT EXISTS (SELECT 1 FROM {_FULL} WHERE tbl IN ({_text(table.name)}, '{_ALL}'))"
        # INSERT OR IGNORE would not do: a trigger's statements take the conflict policy of
        # the statement that fired them (an upsert's, for one), so "only the first time" is
        # written out as NOT EXISTS.
        sep = ", " if table.columns else ""
        save_old = (f"INSERT INTO {table.shadow} (_rid{sep}{table.column_list()}) "
                    f"SELECT old.rowid{sep}{table.column_list('old.')} WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {table.shadow} WHERE _rid = old.rowid);")
        for event in ("UPDATE", "DELETE"):
            extra = ""
            if event == "DELETE":  # the top row goes: copy the rest, the log stops here
                extra = (f"INSERT INTO {table.shadow} SELECT rowid{sep}{table.column_list()} "
                         f"FROM main.{name} WHERE old.rowid = {top} AND rowid <= {top} "
                         f"AND rowid NOT IN (SELECT _rid FROM {table.shadow});"
                         f"INSERT INTO {_FULL} SELECT {_text(table.name)} WHERE old.rowid = {top} "
                         f"AND {live};")
            self._conn.execute(
                f"CREATE TEMP TRIGGER {_q(f'resetpt_{event.lower()}_{table.name}')} "
                f"BEFORE {event} ON main.{name} WHEN old.rowid <= {top} AND {live} "
                f"BEGIN {save_old} {extra} END")

    def copy_all(self) -> None:
        """Before the whole database is replaced behind the triggers' back (a snapshot
        restore): every table keeps a whole copy of its rows at the reset point."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            for table in self._tables:
                if table.top is None or self._is_full(table):
                    continue
                if table.top:
                    conn.execute(
                        f"INSERT INTO {table.shadow} SELECT rowid"
                        f"{', ' if table.columns else ''}{table.column_list()} "
                        f"FROM main.{_q(table.name)} WHERE rowid <= {table.top} "
                        f"AND rowid NOT IN (SELECT _rid FROM {table.shadow})")
                conn.execute(f"INSERT INTO {_FULL} VALUES (?)", [table.name])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _is_full(self, table: _Table) -> bool:
        return self._conn.execute(f"SELECT 1 FROM {_FULL} WHERE tbl = ?",
                                  [table.name]).fetchone() is not None

    def restore(self) -> None:
        """Back to the reset point, in one transaction (the caller turns foreign-key checks
        off: rows come back in table order, and the end state is the point's)."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.execute(f"INSERT INTO {_FULL} VALUES (?)", [_ALL])
            for table in self._tables:
                self._restore(table)
            conn.execute(f"DELETE FROM {SCHEMA}.{_FULL}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _restore(self, table: _Table) -> None:
        conn, name, columns = self._conn, _q(table.name), table.column_list()
        if table.top is None:  # WITHOUT ROWID: a whole copy, kept for the next reset
            conn.execute(f"DELETE FROM main.{name}")
            conn.execute(f"INSERT INTO main.{name} ({columns}) SELECT {columns} "
                         f"FROM {SCHEMA}.{table.shadow}")
            return
        if self._is_full(table):
            conn.execute(f"DELETE FROM main.{name}")
        else:
            conn.execute(f"DELETE FROM main.{name} WHERE rowid > ?", [table.top])
            conn.execute(f"DELETE FROM main.{name} WHERE rowid IN "
                         f"(SELECT _rid FROM {SCHEMA}.{table.shadow})")
        conn.execute(f"INSERT INTO main.{name} (rowid{', ' if columns else ''}{columns}) "
                     f"SELECT _rid{', ' if columns else ''}{columns} "
                     f"FROM {SCHEMA}.{table.shadow}")
        conn.execute(f"DELETE FROM {SCHEMA}.{table.shadow}")

    def size(self) -> int:
        """Bytes of the file (the data saved so far)."""
        try:
            return os.path.getsize(path_for(self._db_path))
        except OSError:
            return 0

    def drop(self) -> None:
        """Forget the point: triggers, the attachment and the file."""
        conn = self._conn
        for (trigger,) in conn.execute("SELECT name FROM temp.sqlite_master WHERE type = "
                                       "'trigger' AND name LIKE 'resetpt_%'").fetchall():
            conn.execute(f"DROP TRIGGER temp.{_q(trigger)}")
        attached = any(row[1] == SCHEMA for row in conn.execute("PRAGMA database_list"))
        if attached:
            conn.execute(f"DETACH DATABASE {SCHEMA}")
        if attached or self.taken:
            remove_files(self._db_path)
        self._tables = []
        self.taken = False
