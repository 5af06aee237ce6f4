"""The peer for Tools/bench: the same workload on the Python `eventsourcing` library (9.5.6), SQLite persistence.

Run with the throw-away virtualenv's python that Tools/bench makes (it needs `eventsourcing`):

  python bench_peer.py append PORTFOLIO.ndjson DB [K]    # batched: all events of a case in one save();
                                                         # K cases per save() (one transaction) if given
  python bench_peer.py single PORTFOLIO.ndjson DB [N]    # N (5,000) events, one save() (transaction) each
  python bench_peer.py read DB                           # read every event back; then read and project

Each prints one JSON object of timings (in-process wall clock, so interpreter start-up and imports are
not counted). Tools/bench runs each as its own process and takes its peak RSS from wait4.

The model: one aggregate per case (id = uuid5 of the case id), one aggregate event per NDJSON line,
carrying the line's event_id, type, occurred_at, actor and data dict. The library's defaults are kept
(it sets WAL; page size, cache and `synchronous` are SQLite's defaults): this is what a user would get.
"""
import json
import os
import sys
import time
import uuid
from array import array

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

CASE_NAMESPACE = uuid.UUID("6f0d4c1e-3b7a-4d52-9a0e-2c1f5b8e7d90")
PAGE = 1000  # notifications per select_notifications call when reading back


class Case(Aggregate):
    """One collection case: its events are the NDJSON lines of that case, in order."""

    @staticmethod
    def create_id(case_id, **_):
        return uuid.uuid5(CASE_NAMESPACE, case_id)

    @event("Opened")
    def __init__(self, case_id, event_id, event_type, occurred_at, actor, data):
        self.case_id = case_id
        self.count = 1

    @event("Recorded")
    def record(self, event_id, event_type, occurred_at, actor, data):
        self.count += 1


class Ledger(Application):
    pass


def open_ledger(db):
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": db})


def pragmas(app):
    with app.factory.datastore.transaction(commit=False) as c:
        found = {}
        for name in ("journal_mode", "synchronous", "page_size", "cache_size"):
            c.execute(f"PRAGMA {name}")
            found[name] = c.fetchone()[0]
        return found


def apply_line(agg, case_id, line):
    """The aggregate after the event for one NDJSON line (a new aggregate when agg is None)."""
    d = json.loads(line)
    fields = dict(event_id=d["event_id"], event_type=d["type"], occurred_at=d["occurred_at"],
                  actor=d["actor"], data=d["data"])
    if agg is None:
        return Case(case_id=case_id, **fields)
    agg.record(**fields)
    return agg


def case_of(line):
    start = line.index(b'"case_id":"') + 11
    return line[start:line.index(b'"', start)].decode()


def append(ndjson, db, cases_per_save=1):
    """Batched append: each case's events are triggered on its aggregate and saved in ONE save() (one
    transaction), or `cases_per_save` aggregates per save(). The file interleaves cases, so a first pass
    notes where each case's lines are; the second reads them back with pread, case by case, so memory
    holds only the aggregates of one save() at a time."""
    app = open_ledger(db)
    start = time.perf_counter()
    where = {}  # case id -> array of (offset, length) pairs
    with open(ndjson, "rb") as f:
        offset = 0
        for line in f:
            where.setdefault(case_of(line), array("q")).extend((offset, len(line)))
            offset += len(line)
    index_s = time.perf_counter() - start
    events = saves = 0
    pending = []
    fd = os.open(ndjson, os.O_RDONLY)
    try:
        for case_id, spots in where.items():
            agg = None
            for i in range(0, len(spots), 2):
                agg = apply_line(agg, case_id, os.pread(fd, spots[i + 1], spots[i]))
            pending.append(agg)
            events += len(spots) // 2
            if len(pending) == cases_per_save:
                app.save(*pending)
                saves += 1
                pending = []
        if pending:
            app.save(*pending)
            saves += 1
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    result = {"events": events, "cases": len(where), "cases_per_save": cases_per_save, "saves": saves, "batched_append_s": round(seconds, 4),
              "batched_append_events_per_s": round(events / seconds), "index_pass_s": round(index_s, 4),
              "pragmas": pragmas(app)}
    app.close()
    return result


def single(ndjson, db, count):
    """Single-event append: the file's first `count` lines as new cases' events (case ids prefixed),
    one save() each, so one transaction and one WAL sync each, into the already full database."""
    app = open_ledger(db)
    lines = []
    with open(ndjson, "rb") as f:
        for line in f:
            lines.append(line)
            if len(lines) == count:
                break
    aggregates = {}
    start = time.perf_counter()
    for line in lines:
        case_id = "S" + case_of(line)
        agg = apply_line(aggregates.get(case_id), case_id, line)
        aggregates[case_id] = agg
        app.save(agg)
    seconds = time.perf_counter() - start
    app.close()
    return {"single_events": len(lines), "single_append_s": round(seconds, 4),
            "single_append_events_per_s": round(len(lines) / seconds)}


def notifications(app):
    """Every stored event, in notification-id order, PAGE at a time."""
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=PAGE)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


def read(db):
    """Read every event back (raw notifications), then read again decoding each into its domain event and
    folding it into a projection: per case, events, calls, messages and the balance left to collect."""
    app = open_ledger(db)
    start = time.perf_counter()
    events = touched = 0
    for n in notifications(app):
        events += 1
        touched += len(n.state) + n.originator_version
    read_s = time.perf_counter() - start

    start = time.perf_counter()
    cases = {}
    projected = 0
    for n in notifications(app):
        e = app.mapper.to_domain_event(n)
        state = cases.get(e.originator_id)
        if state is None:
            state = cases[e.originator_id] = {"events": 0, "calls": 0, "messages": 0, "balance_minor": 0}
        state["events"] += 1
        kind = e.event_type
        if kind == "case.opened":
            state["balance_minor"] += e.data.get("principal_minor", 0) + e.data.get("fees_minor", 0)
        elif kind == "payment.received":
            state["balance_minor"] -= e.data.get("amount_minor", 0)
        elif kind == "call.placed":
            state["calls"] += 1
        elif kind == "message.sent":
            state["messages"] += 1
        projected += 1
    project_s = time.perf_counter() - start
    app.close()
    return {"events": events, "read_s": round(read_s, 4), "read_events_per_s": round(events / read_s),
            "read_project_s": round(project_s, 4), "read_project_events_per_s": round(projected / project_s),
            "projected_cases": len(cases), "checksum": touched}


def main(argv):
    if len(argv) >= 3 and argv[0] == "append":
        result = append(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 1)
    elif len(argv) >= 3 and argv[0] == "single":
        result = single(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 5000)
    elif len(argv) == 2 and argv[0] == "read":
        result = read(argv[1])
    else:
        sys.exit(__doc__)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
