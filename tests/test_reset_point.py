"""The reset point (issue 19 item 5): an undo log beside the database (``store/reset_point.py``)
on a real SQLite file. Taking it copies no data, what it keeps grows with the rows that change,
a reset returns every table to the point exactly, and the file goes with the store."""

from __future__ import annotations

import os
import random

import pytest

from simulator.store.database import Store
from simulator.store.reset_point import path_for


def _contents(store: Store) -> dict:
    """Every stored row of every table (migration bookkeeping apart), rowids included."""
    with store.read() as db:
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != '_sqlite_migrations' ORDER BY name")]
        out = {}
        for name in names:
            try:
                rows = db.execute(f"SELECT rowid, * FROM [{name}] ORDER BY rowid").fetchall()
            except Exception:  # WITHOUT ROWID
                rows = sorted(db.execute(f"SELECT * FROM [{name}]").fetchall(), key=repr)
            out[name] = rows
        return out


def _fill(store: Store, users: int, attr_bytes: int = 50) -> None:
    with store.write() as db:
        db.conn.executemany("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                       "VALUES (?, ?, 0, 0)",
                       [(f"u{i}", '{"u_fn": "%s"}' % ("x" * attr_bytes), ) for i in range(users)])
        db.conn.executemany("INSERT INTO events (user_id, name, ts, received_at) VALUES (?, ?, ?, 0)",
                       [(1 + i % users, f"e{i % 5}", i) for i in range(users * 3)])
        db.execute("INSERT INTO meta (key, value) VALUES ('clock', '1'), ('other', '2')")
        db.execute("INSERT INTO attribute_types VALUES ('user', '', 'plan', 'string')")
        db.execute("INSERT INTO sinks (name) VALUES ('a'), ('b')")
        db.conn.executemany("INSERT INTO sink_requests (sink, seq, received_at, record) "
                       "VALUES ('a', ?, 0, '{}')", [(n,) for n in range(1, 30)])


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "m.db"))
    store.migrate()
    yield store
    store.close()


def _churn(store: Store, rng: random.Random, rounds: int = 60) -> None:
    """Inserts, updates, upserts and deletes, some of the top rows included."""
    for _ in range(rounds):
        with store.write() as db:
            top_user = db.execute("SELECT max(id) FROM users").fetchone()[0] or 0
            op = rng.choice(["insert", "update", "delete", "upsert", "top", "sinks", "attr"])
            if op == "insert":
                db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                           "VALUES (?, '{}', 1, 1)", [f"n{rng.random()}"])
                db.execute("INSERT INTO events (user_id, name, ts, received_at) "
                           "VALUES (1, 'new', 5, 5)")
            elif op == "update":
                db.execute("UPDATE users SET attrs = json_set(attrs, '$.p', ?) "
                           "WHERE id % 7 = ?", [rng.random(), rng.randrange(7)])
            elif op == "delete":
                db.execute("DELETE FROM events WHERE id % 11 = ?", [rng.randrange(11)])
            elif op == "upsert":
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                           "DO UPDATE SET value = excluded.value",
                           [rng.choice(["clock", "other", "new"]), str(rng.random())])
            elif op == "top" and top_user:
                db.execute("DELETE FROM events WHERE user_id = ?", [top_user])
                db.execute("DELETE FROM users WHERE id = ?", [top_user])
            elif op == "sinks":
                db.execute("DELETE FROM sink_requests WHERE seq <= ?", [rng.randrange(40)])
                db.execute("UPDATE sinks SET served = served + 1")
            elif op == "attr":
                db.execute("INSERT OR IGNORE INTO attribute_types VALUES ('user', '', ?, 'n')",
                           [f"k{rng.randrange(5)}"])
                db.execute("DELETE FROM attribute_types WHERE key = ?", [f"k{rng.randrange(5)}"])


@pytest.mark.parametrize("seed", range(4))
def test_reset_returns_every_table_to_the_point_after_any_mix_of_changes(store, seed):
    _fill(store, 40)
    store.mark_baseline()
    point = _contents(store)
    rng = random.Random(seed)
    for _ in range(3):  # a reset, more changes, another reset: the log starts over each time
        _churn(store, rng)
        assert _contents(store) != point
        store.reset()
        assert _contents(store) == point
    # after a reset new rows get the rowids they would have got after the point
    with store.write() as db:
        db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                   "VALUES ('after', '{}', 0, 0)")
        assert db.execute("SELECT id FROM users WHERE customer_id = 'after'").fetchone()[0] == 41


def test_rows_in_gaps_below_the_top_are_removed_after_the_top_row_went(store):
    _fill(store, 10)
    with store.write() as db:
        db.execute("DELETE FROM users WHERE id BETWEEN 3 AND 9 AND id NOT IN "
                   "(SELECT user_id FROM events)")
        db.execute("DELETE FROM events WHERE user_id BETWEEN 3 AND 9")
        db.execute("DELETE FROM users WHERE id BETWEEN 3 AND 9")
    store.mark_baseline()  # users 1, 2, 10
    point = _contents(store)
    with store.write() as db:
        db.execute("DELETE FROM events WHERE user_id = 10")
        db.execute("DELETE FROM users WHERE id = 10")  # the top row: rowid 3 is free again
        db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                   "VALUES ('gap', '{}', 0, 0)")
        assert db.execute("SELECT id FROM users WHERE customer_id = 'gap'").fetchone()[0] == 3
        db.execute("UPDATE users SET attrs = '{\"z\": 1}' WHERE id = 3")
    store.reset()
    assert _contents(store) == point


def test_taking_the_point_copies_nothing_and_it_grows_with_what_changes(store):
    _fill(store, 4000, attr_bytes=2000)  # ~8 MB of users
    store.mark_baseline()
    stored = sum(os.path.getsize(store.path + end) for end in ("", "-wal")
                 if os.path.exists(store.path + end))
    assert stored > 8_000_000
    taken = os.path.getsize(path_for(store.path))
    assert taken < 200_000
    with store.write() as db:  # appends cost nothing
        db.conn.executemany("INSERT INTO events (user_id, name, ts, received_at) "
                       "VALUES (1, 'x', 0, 0)", [()] * 20_000)
    assert os.path.getsize(path_for(store.path)) == taken
    with store.write() as db:  # changed rows are kept once, however often they change
        for _ in range(5):
            db.execute("UPDATE users SET attrs = '{}' WHERE id <= 100")
    grown = os.path.getsize(path_for(store.path)) - taken
    assert 100 * 2000 <= grown < 100 * 2000 * 2


def test_the_file_lives_beside_the_database_and_goes_with_the_store(tmp_path):
    path = str(tmp_path / "m.db")
    (tmp_path / "m.db-reset").write_bytes(b"left by a killed process")
    store = Store(path)
    store.migrate()
    _fill(store, 5)
    store.mark_baseline()
    assert os.path.isfile(path_for(path))
    with store.write() as db:
        db.execute("DELETE FROM events")
    store.reset()
    store.close()
    assert sorted(os.listdir(tmp_path)) == ["m.db"]  # no reset point, no WAL left


def test_a_snapshot_restore_keeps_the_reset_point(store, tmp_path):
    from simulator.store import snapshots

    _fill(store, 30)
    store.mark_baseline()
    point = _contents(store)
    with store.write() as db:
        db.execute("UPDATE users SET attrs = '{\"before\": 1}' WHERE id < 5")
        db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                   "VALUES ('extra', '{}', 0, 0)")
    snapshots.export(store, str(tmp_path / "snap.db"))
    store.reset()
    with store.write() as db:
        db.execute("DELETE FROM events WHERE id > 20")
    snapshots.restore(store, str(tmp_path / "snap.db"))
    with store.write() as db:  # changes after the restore, to rows in the point's range
        db.execute("UPDATE users SET attrs = '{\"after\": 1}' WHERE id < 10")
        db.execute("DELETE FROM users WHERE customer_id = 'extra'")
    store.reset()
    assert _contents(store) == point


def test_a_retention_pass_over_rows_of_the_point_is_undone_by_a_reset(store):
    from simulator.store import deliveries

    row = ("c" * 24, 1, "u1", "sent", None, 200, '{"url": "x"}', '{"status": 200}', 1.0, 5)
    with store.write() as db:
        deliveries.insert(db, [row] * 10)
    store.mark_baseline()
    point = _contents(store)
    with store.write() as db:
        deliveries.insert(db, [row[:-1] + (50,)] * 5)
        assert deliveries.prune_payloads(db, 10, 0, limit=4) == 4
        assert deliveries.prune_payloads(db, 10, 0) == 6  # the point's top row among them
        assert deliveries.lowest_with_payload(db, 0) == 11
    with store.read() as db:
        assert db.execute("SELECT count(*), count(request) FROM deliveries").fetchone() == (15, 5)
    store.reset()
    assert _contents(store) == point
