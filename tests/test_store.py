"""``Store``: transactions, checkpoints and bulk inserts on a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from simulator.store.database import ForeignKeys, Store


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.migrate()
    with store.write() as db:
        db.execute("INSERT INTO users (id, customer_id, attrs, created_at, updated_at) "
                   "VALUES (1, 'u1', '{}', 0, 0)")
    yield store
    store.close()


def _add_event(db, user_id: int, name: str) -> None:
    db.execute("INSERT INTO events (user_id, name, ts, received_at) VALUES (?, ?, 0, 0)",
               [user_id, name])


def _names(store: Store) -> list[str]:
    with store.read() as db:
        return [row[0] for row in db.execute("SELECT name FROM events ORDER BY id")]


def _in_other_thread(function):
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    return outcome


def test_an_error_inside_a_write_block_stores_nothing(store):
    with pytest.raises(RuntimeError):
        with store.write() as db:
            _add_event(db, 1, "half")
            raise RuntimeError("a bug while writing")
    with store.write() as db:
        _add_event(db, 1, "next")
    assert _names(store) == ["next"]


def test_checkpoints_run_beside_the_writer(store):
    """A checkpoint (copying the WAL into the file and syncing both) runs on the checkpointer's
    own connection after writes land, not inside a writer's COMMIT: the writer checkpoints
    itself only as a backstop, past 16k pages."""
    assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16 * 1024
    for n in range(40):  # ~1,500 pages of WAL: SQLite's default would checkpoint in a COMMIT
        with store.write() as db:
            db.conn.executemany(
                "INSERT INTO events (user_id, name, ts, attrs, received_at) VALUES (1, ?, 0, ?, 0)",
                [(f"e{n}", "x" * 500) for _ in range(1000)])
    assert store.checkpoint_landed()
    # the rows' pages are in the database file itself (not only in the WAL)
    assert os.path.getsize(store.path) > 15_000_000


def _checkpointers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "moesim-checkpoint")


def test_first_writes_racing_start_one_checkpointer_and_close_stops_it(tmp_path):
    """Review finding: threads finishing their first writes together each started a
    checkpointer (thread and connection), and ``close`` stopped only one, so the WAL outlived
    the store."""
    before = _checkpointers()
    store = Store(str(tmp_path / "r.db"))
    store.migrate()
    barrier = threading.Barrier(8)

    def first_write(n: int) -> None:
        barrier.wait()
        with store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, '1')", [f"k{n}"])
    threads = [threading.Thread(target=first_write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _checkpointers() == before + 1
    store.close()
    assert _checkpointers() == before
    assert not os.path.exists(store.path + "-wal")  # the last connection closed it
    store._written()  # a write landing after close starts nothing
    assert _checkpointers() == before


@pytest.mark.parametrize("count", [0, 1, 31, 32, 33, 65, 500])
def test_bulk_insert_writes_every_row_in_order(tmp_path, count):
    """Multi-row INSERTs (32 rows a statement, then the rest in one): every row once, in
    order, literals in the row template included."""
    from simulator.store import bulk
    conn = sqlite3.connect(str(tmp_path / "b.db"))
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c INTEGER)")
    rows = [(n, f"v{n}") for n in range(count)]
    bulk.insert(conn, "INSERT OR FAIL INTO t (a, b, c)", "(?, ?, 7)", rows)
    assert conn.execute("SELECT a, b FROM t ORDER BY id").fetchall() == rows
    assert conn.execute("SELECT count(*) FROM t WHERE c = 7").fetchone()[0] == count
    conn.close()


def test_bulk_insert_refuses_a_row_of_the_wrong_width_and_writes_none(tmp_path):
    """Review finding: flattening the rows would shift a short row's values into the next."""
    from simulator.store import bulk
    conn = sqlite3.connect(str(tmp_path / "w.db"))
    conn.execute("CREATE TABLE t (a, b)")
    rows = [(1, "x"), (2,), (3, "y", "extra")] + [(n, "v") for n in range(40)]
    with pytest.raises(sqlite3.ProgrammingError, match="2 values"):
        bulk.insert(conn, "INSERT OR FAIL INTO t (a, b)", "(?, ?)", rows)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    conn.close()


def test_a_bulk_insert_is_or_fail_and_a_row_failing_mid_statement_leaves_the_batch_unstored(store):
    """The statements are ``INSERT OR FAIL`` (no statement journal, see ``store/bulk.py``): a
    row breaking a constraint in the middle of a 32-row statement keeps the rows before it
    only until ``Store.write`` rolls the transaction back, so none of the batch is stored."""
    from simulator.store import bulk, events
    with pytest.raises(ValueError, match="INSERT OR FAIL INTO"):
        bulk.insert(store.db.conn, "INSERT INTO events (user_id, name)", "(?, ?)", [(1, "x")])
    rows = [(1, f"e{n}", n, "{}", None, None, None, None) for n in range(70)]
    rows[40] = (1, None, 40, "{}", None, None, None, None)  # name is NOT NULL
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        with store.write() as db:
            _add_event(db, 1, "before")
            events.insert(db, rows, 0)
    assert _names(store) == []
    with store.write() as db:
        events.insert(db, rows[:40] + rows[41:], 0)
    assert len(_names(store)) == 69


@pytest.mark.parametrize("rows", [
    [(1, None, None), (2, None, None)],        # two columns NULL in every row
    [(1, None, "c"), (2, "b", None)],          # None here and there: bound as given
    [(None, None, None)] * 40,                 # every column
    [(n, None, f"c{n}") for n in range(70)],   # across full statements and the rest
])
def test_bulk_insert_writes_columns_that_are_none_in_every_row_as_null(tmp_path, rows):
    """Such columns go in as NULL literals (binding None is slow) and read back the same."""
    from simulator.store import bulk
    conn = sqlite3.connect(str(tmp_path / "n.db"))
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, d)")
    bulk.insert(conn, "INSERT OR FAIL INTO t (a, b, c, d)", "(?, ?, ?, 9)", rows)
    assert conn.execute("SELECT a, b, c FROM t ORDER BY id").fetchall() == rows
    assert conn.execute("SELECT count(*) FROM t WHERE d = 9").fetchone()[0] == len(rows)
    conn.close()


def test_foreign_keys_stay_off_between_trusted_writes_and_are_checked_again_after(store):
    """``ForeignKeys.TRUSTED`` turns SQLite's checks off and leaves them off for the next
    trusted write (switching expires every prepared statement); a checked write turns them on
    again first."""
    def event_for_nobody(**write):
        with store.write(**write) as db:
            _add_event(db, 999, "orphan")

    for _ in range(2):
        event_for_nobody(foreign_keys=ForeignKeys.TRUSTED)
    assert store._writer.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        event_for_nobody()
    assert store._writer.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    event_for_nobody(foreign_keys=ForeignKeys.TRUSTED)
    assert _names(store) == ["orphan"] * 3
