"""Schemathesis hooks for fuzzing `caseledger serve` (loaded by Tools/schemathesis/run).

- `application/x-ndjson` request bodies go on the wire as the text they are.
- Strings of `format: ndjson` (the body of `POST /v1/events`) are generated as batches of valid
  events: a new case (`case.opened`) with a few events after it, or a few events on the demo's
  open case C-2024-000002. A schema-valid body is then one the server should accept. Negative
  cases still send bodies that are not strings of that format.
- The run's own tokens are never revoked by the fuzzer (a DELETE of one goes to another name).
- The change feed's `wait` is capped at a quarter of a second, so a request that would wait
  for a new event does not hold the run for up to a minute. A valid value stays valid.
"""

import itertools
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

MAX_WAIT = 0.25
RUN_TOKEN_PREFIX = "schemathesis-"

# The demo's open case (`caseledger demo --cases 40`), opened 2024-01-15T19:52:00Z.
DEMO_CASE = "C-2024-000002"
DEMO_OPENED = datetime(2024, 1, 16, tzinfo=timezone.utc)

ACTOR_KINDS = ["collector", "visitor", "supervisor", "agency", "system", "debtor"]
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-"
ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Asia/Shanghai", "Asia/Hong_Kong", "Europe/London"]
CURRENCIES = ["USD", "CNY", "HKD", "EUR", "GBP", "SGD"]

# Hypothesis draws the same "random" UUIDs in every run, and an event id sent again with other
# content is rightly refused (422); every event and case made here gets an id of its own.
_RUN = (int(time.time() * 1000) << 16 | os.getpid() & 0xFFFF) & (2**62 - 1)
_COUNTER = itertools.count(1)


def fresh_uuid():
    return str(uuid.UUID(int=(_RUN << 64) | next(_COUNTER), version=4))


def fresh_case_id():
    return f"FZ-{_RUN:x}-{next(_COUNTER)}"


# Free text without surrogates (a lone one is not valid UTF-8).
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
actors = st.builds(lambda kind, ident: f"{kind}:{ident}", st.sampled_from(ACTOR_KINDS),
                   st.text(alphabet=ID_CHARS, min_size=1, max_size=20))
offsets = st.sampled_from([0, 60, -300, -420, 480, 330, -(23 * 60 + 59), 23 * 60 + 59])
dates = st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2030, 12, 31).date()).map(str)


def rfc3339(moment, offset_minutes):
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text_ = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text_ += f".{local.microsecond:06d}"
    return text_ + ("Z" if offset_minutes == 0 else local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:])


@st.composite
def follow_up(draw):
    kind = draw(st.sampled_from(["note.recorded", "call.placed", "call.placed.v1", "message.sent", "promise.made"]))
    if kind == "note.recorded":
        return kind, None, {"text": draw(text)}
    if kind.startswith("call.placed"):
        data = {"direction": draw(st.sampled_from(["outbound", "inbound"])),
                "party": draw(st.sampled_from(["debtor", "third_party", "emergency_contact"])),
                "outcome": draw(st.sampled_from(["no_answer", "connected", "refused", "wrong_number", "voicemail"]))}
        if draw(st.booleans()):
            data["duration_s"] = draw(st.integers(0, 86400))
        if draw(st.booleans()):
            data["notes"] = draw(text)
        return "call.placed", (1 if kind.endswith("v1") else draw(st.sampled_from([None, 2]))), data
    if kind == "message.sent":
        return kind, None, {"channel": draw(st.sampled_from(["sms", "letter", "email", "app"])),
                            "party": draw(st.sampled_from(["debtor", "third_party", "emergency_contact"])),
                            "template": draw(text)}
    return kind, None, {"amount_minor": draw(st.integers(1, 10**12)), "promised_date": draw(dates)}


@st.composite
def event_batches(draw):
    uuids = st.builds(fresh_uuid)
    start = draw(st.datetimes(min_value=datetime(2024, 2, 1), max_value=datetime(2025, 12, 31))).replace(tzinfo=timezone.utc)
    lines = []
    if draw(st.booleans()):
        case_id = draw(st.builds(fresh_case_id))
        opening = {"debtor_ref": draw(text), "account_ref": draw(text),
                   "product": draw(st.sampled_from(["credit_card", "personal_loan", "business_loan", "mortgage"])),
                   "currency": draw(st.sampled_from(CURRENCIES)), "principal_minor": draw(st.integers(1, 10**12)),
                   "due_date": draw(dates), "debtor_timezone": draw(st.sampled_from(ZONES))}
        if draw(st.booleans()):
            opening["region"] = draw(st.sampled_from(["US", "US-CA", "CN-SH", "HK", "SG"]))
        lines.append({"event_id": draw(uuids), "case_id": case_id, "type": "case.opened",
                      "occurred_at": rfc3339(start, draw(offsets)), "actor": draw(actors), "expected_version": 0,
                      "data": opening})
        moment = start
    else:
        case_id = DEMO_CASE
        moment = max(start, DEMO_OPENED)
    for _ in range(draw(st.integers(0 if lines else 1, 4))):
        moment += timedelta(seconds=draw(st.integers(1, 86400 * 3)))
        kind, version, data = draw(follow_up())
        event = {"event_id": draw(uuids), "case_id": case_id, "type": kind, "occurred_at": rfc3339(moment, draw(offsets)),
                 "actor": draw(actors), "data": data}
        if version is not None:
            event["schema_version"] = version
        if draw(st.integers(0, 9)) == 0:
            event["expected_version"] = draw(st.integers(0, 60))  # most often not the case's: 409
        lines.append(event)
    return "".join(json.dumps(line, ensure_ascii=draw(st.booleans())) + "\n" for line in lines)


schemathesis.openapi.format("ndjson", event_batches())


@schemathesis.hook
def before_call(context, case, kwargs):
    method = case.method.upper()
    if method == "DELETE" and case.path == "/v1/tokens/{name}":
        # The run's own tokens (`schemathesis-<role>`, see `run`) stay: revoking the admin token
        # would leave the rest of the pass with nothing but 401s.
        name = str((case.path_parameters or {}).get("name", ""))
        if name.startswith(RUN_TOKEN_PREFIX):
            case.path_parameters["name"] = name + "-not-revoked"
        return
    if method != "GET" or case.path != "/v1/events" or not case.query:
        return
    try:
        seconds = float(case.query.get("wait"))
    except (TypeError, ValueError):
        return
    if MAX_WAIT < seconds <= 60:
        case.query["wait"] = str(MAX_WAIT)
