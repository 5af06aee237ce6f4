#!/usr/bin/env python3
"""Generate Tests/CaseLedgerTests/Fixtures/schema-corpus.ndjson: valid and invalid `data` instances for every event schema."""

import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "Schemas" / "events"
CORPUS_PATH = ROOT / "Tests" / "CaseLedgerTests" / "Fixtures" / "schema-corpus.ndjson"

# The keywords the Swift validator implements; a schema using anything else needs new corpus cases.
KNOWN_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required",
    "additionalProperties", "enum", "minimum", "maximum", "minLength", "maxLength",
    "items", "minItems", "maxItems", "format",
}
KNOWN_FORMATS = {"date", "date-time", "uuid"}

# Integers stay within what every JSON reader keeps exact, except one deliberate 2^53.
MAX_SAFE = 2**53 - 1
TWO_POW_53_CASE = ("case.opened.v1", "principal_minor")

VALID, INVALID = "valid", "invalid"

# Format cases: (value, expect, what it tests). No trailing newlines (Python's `$` quirk).
DATE_CASES = [
    ("2024-03-05", VALID, "plain date"),
    ("2024-02-29", VALID, "leap day"),
    ("2000-02-29", VALID, "leap day in a 400-year"),
    ("2024-12-31", VALID, "last day of the year"),
    ("0001-01-01", VALID, "year 1"),
    ("9999-12-31", VALID, "year 9999"),
    ("2023-02-29", INVALID, "Feb 29 in a common year"),
    ("2100-02-29", INVALID, "Feb 29 in a century common year"),
    ("2024-13-01", INVALID, "month 13"),
    ("2024-00-10", INVALID, "month 00"),
    ("2024-04-31", INVALID, "April 31"),
    ("2024-03-00", INVALID, "day 00"),
    ("2024-03-32", INVALID, "day 32"),
    ("2024-3-5", INVALID, "unpadded month and day"),
    ("20240305", INVALID, "basic format without dashes"),
    ("0000-01-01", INVALID, "year 0000"),
    ("12024-03-05", INVALID, "five-digit year"),
    ("2024-03-05T00:00:00Z", INVALID, "a date-time, not a date"),
    (" 2024-03-05", INVALID, "leading space"),
    ("2024-03-05 ", INVALID, "trailing space"),
    ("2024/03/05", INVALID, "slashes"),
    ("05-03-2024", INVALID, "day-month-year order"),
    ("2024-W10-2", INVALID, "ISO week date"),
    ("2024-065", INVALID, "ISO ordinal date"),
    ("２０２４-03-05", INVALID, "fullwidth digits"),
    ("", INVALID, "empty string"),
]

DATE_TIME_CASES = [
    ("2024-03-05T22:30:00+08:00", VALID, "positive offset"),
    ("2024-03-05T14:30:00Z", VALID, "UTC Z"),
    ("2024-03-05t14:30:00z", VALID, "lowercase t and z (RFC 3339 allows)"),
    ("2024-03-05T14:30:00.123456-05:00", VALID, "fractional seconds, negative offset"),
    ("2024-02-29T23:59:59-23:59", VALID, "leap day, largest negative offset"),
    ("2024-03-05T14:30:00.1Z", VALID, "one fractional digit"),
    ("2024-03-05T14:30:00.123456789Z", VALID, "nine fractional digits"),
    ("2024-12-31T23:59:59-00:00", VALID, "offset -00:00"),
    ("2024-03-05T00:00:00+23:59", VALID, "largest positive offset"),
    ("2000-02-29T12:00:00Z", VALID, "leap day in a 400-year"),
    ("0001-01-01T00:00:00Z", VALID, "year 1"),
    ("9999-12-31T23:59:59Z", VALID, "year 9999"),
    ("2024-03-05T22:30:00", INVALID, "no offset"),
    ("2024-03-05 22:30:00+08:00", INVALID, "space instead of T"),
    ("2024-03-05T24:00:00Z", INVALID, "hour 24"),
    ("2024-03-05T14:60:00Z", INVALID, "minute 60"),
    ("2024-03-05T14:30:60Z", INVALID, "second 60 (leap second)"),
    ("2024-03-05T14:30:00+24:00", INVALID, "offset hour 24"),
    ("2024-03-05T14:30:00+08:60", INVALID, "offset minute 60"),
    ("2024-03-05T14:30:00+0800", INVALID, "offset without colon"),
    ("2024-03-05T14:30:00+08", INVALID, "offset hours only"),
    ("2023-02-29T10:00:00Z", INVALID, "Feb 29 in a common year"),
    ("2100-02-29T10:00:00Z", INVALID, "Feb 29 in a century common year"),
    ("2024-04-31T10:00:00Z", INVALID, "April 31"),
    ("2024-13-01T10:00:00Z", INVALID, "month 13"),
    ("2024-00-10T10:00:00Z", INVALID, "month 00"),
    ("2024-03-00T10:00:00Z", INVALID, "day 00"),
    ("0000-01-01T00:00:00Z", INVALID, "year 0000"),
    ("2024-3-5T10:00:00Z", INVALID, "unpadded month and day"),
    ("20240305T143000Z", INVALID, "basic format"),
    ("2024-03-05T14:30Z", INVALID, "no seconds"),
    ("2024-03-05T14:30:00.Z", INVALID, "empty fraction"),
    ("2024-03-05T14:30:00,5Z", INVALID, "comma decimal separator"),
    ("2024-03-05", INVALID, "date only"),
    ("2024-03-05T14:30:00Zjunk", INVALID, "trailing text"),
    ("2024-03-05T14:30:00+08:00 ", INVALID, "trailing space"),
    (" 2024-03-05T14:30:00Z", INVALID, "leading space"),
    ("２０２４-03-05T14:30:00Z", INVALID, "fullwidth digits"),
    ("", INVALID, "empty string"),
]

_UUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
UUID_CASES = [
    (_UUID, VALID, "lowercase canonical"),
    (_UUID.upper(), VALID, "uppercase canonical"),
    ("3F2504E0-4f89-41D3-9a0c-0305E82C3301", VALID, "mixed case"),
    ("00000000-0000-0000-0000-000000000000", VALID, "nil UUID"),
    ("ffffffff-ffff-ffff-ffff-ffffffffffff", VALID, "all f"),
    (_UUID.replace("-", ""), INVALID, "32 hex digits without dashes"),
    ("{" + _UUID + "}", INVALID, "braces"),
    ("urn:uuid:" + _UUID, INVALID, "urn:uuid: prefix"),
    (_UUID[:-1] + "g", INVALID, "non-hex letter g"),
    ("3f2504e0-4f89-41d3-9a0c-0305e82c33x1", INVALID, "non-hex letter x"),
    (_UUID[:-1], INVALID, "35 characters"),
    (_UUID + "0", INVALID, "37 characters"),
    ("3f2504e-04f89-41d3-9a0c-0305e82c3301", INVALID, "first dash one place early"),
    ("3f2504e0-4f8-941d3-9a0c-0305e82c3301", INVALID, "second dash one place early"),
    ("3f2504e04-f89-41d3-9a0c-0305e82c3301", INVALID, "first dash one place late"),
    ("3f2504e0-4f89-41d39a0c-0-305e82c3301", INVALID, "third dash misplaced"),
    ("3f2504e0--4f89-41d3-9a0c-0305e82c3301", INVALID, "doubled dash"),
    (" " + _UUID, INVALID, "leading space"),
    (_UUID + " ", INVALID, "trailing space"),
    ("", INVALID, "empty string"),
]

FORMAT_CASES = {"date": DATE_CASES, "date-time": DATE_TIME_CASES, "uuid": UUID_CASES}
assert not any(value.endswith("\n") for cases in FORMAT_CASES.values() for value, _, _ in cases)
FORMAT_SAMPLES = {"date": "2024-03-05", "date-time": "2024-03-05T22:30:00+08:00", "uuid": _UUID}

# Text used to build strings of an exact length in Unicode code points.
CJK = "债务人承诺于下月还款"
EMOJI = "😀"  # one code point, two UTF-16 units
COMBINING = "e\u0301"  # two code points, one grapheme
ZWJ_FAMILY = "👨\u200d👩\u200d👧"  # five code points, one grapheme
FLAG = "🇨🇳"  # two code points, one grapheme


def ascii_text(n):
    return ("abcdefghij" * (n // 10 + 1))[:n]


def cjk_text(n):
    return (CJK * (n // len(CJK) + 1))[:n]


def emoji_text(n):
    return EMOJI * n


def combining_text(n):
    return COMBINING * (n // 2) + "e" * (n % 2)


def zwj_text(n):
    return ZWJ_FAMILY * (n // 5) + "a" * (n % 5)


LENGTH_TEXTS = [
    ("ASCII", ascii_text),
    ("Chinese", cjk_text),
    ("emoji, 2 UTF-16 units each", emoji_text),
    ("e+U+0301, 2 code points per grapheme", combining_text),
    ("ZWJ family emoji, 5 code points per grapheme", zwj_text),
]


def check_keywords(schema, where):
    """Fail loudly if a schema uses a keyword or format this corpus does not cover."""
    unknown = set(schema) - KNOWN_KEYWORDS
    if unknown:
        sys.exit(f"{where}: unsupported keywords {sorted(unknown)}")
    if "format" in schema and schema["format"] not in KNOWN_FORMATS:
        sys.exit(f"{where}: unsupported format {schema['format']!r}")
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        sys.exit(f"{where}: additionalProperties must be false")
    for name, sub in schema.get("properties", {}).items():
        check_keywords(sub, f"{where}.{name}")
    if "items" in schema:
        check_keywords(schema["items"], f"{where}[]")


def sample(schema, name, full, index=0):
    """A valid value for `schema`; `full` includes optional object properties; `index` varies array items."""
    kind = schema["type"]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "string":
        if "format" in schema:
            if schema["format"] == "date":
                return (datetime.date(2024, 3, 5) + datetime.timedelta(days=30 * index)).isoformat()
            return FORMAT_SAMPLES[schema["format"]]
        text = f"{name}-{index + 1}"
        text = text.ljust(schema.get("minLength", 0), "x")
        return text[: schema.get("maxLength", len(text))]
    if kind == "integer":
        return min(max(100 + index, schema.get("minimum", -MAX_SAFE)), schema.get("maximum", MAX_SAFE))
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(schema.get("minItems", 0), 3 if full else 1)
        count = min(count, schema.get("maxItems", count))
        return [sample(schema["items"], name, full, i) for i in range(count)]
    if kind == "object":
        return instance(schema, full, index)
    raise ValueError(f"unsupported type {kind!r}")


def instance(schema, full, index=0):
    """A valid object: required properties only, or all of them when `full`."""
    return {
        name: sample(sub, name, full, index)
        for name, sub in schema["properties"].items()
        if full or name in schema["required"]
    }


def wrong_types(kind, good):
    """(type name, value) for every JSON type other than `kind`, each value close to `good`."""
    candidates = {
        "string": [json.dumps(good, ensure_ascii=False)],
        "integer": [1, 0] if kind == "boolean" else [1],
        "boolean": [True, False] if kind == "integer" else [True],
        "array": [[good]],
        "object": [{"value": good}],
        "null": [None],
    }
    return [(name, value) for name, values in candidates.items() if name != kind for value in values]


class Corpus:
    """Collects the cases of one schema and writes them as corpus lines."""

    def __init__(self, name):
        self.name = name
        self.rows = []
        self.notes = set()

    def add(self, expect, note, data):
        if note in self.notes:
            raise ValueError(f"{self.name}: duplicate note {note!r}")
        self.notes.add(note)
        self.rows.append({"schema": self.name, "note": note, "expect": expect, "data": data})


def brief(value):
    """A short JSON rendering of `value` for a note."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def with_value(base, name, value):
    data = dict(base)
    data[name] = value
    return data


def without(base, name):
    return {key: value for key, value in base.items() if key != name}


def value_cases(corpus, prop, good, path, put):
    """Type, enum, bound, length and format cases for one property; `put(value)` builds the instance."""
    kind = prop["type"]
    for type_name, value in wrong_types(kind, good):
        corpus.add(INVALID, f"{path}: wrong type {type_name} ({brief(value)}) for {kind}", put(value))

    if "enum" in prop:
        members = prop["enum"]
        shown = members if len(members) <= 12 else [members[0], members[len(members) // 2], members[-1]]
        for member in shown:
            corpus.add(VALID, f"{path}: enum member {member!r}", put(member))
        first = members[0]
        wrong_case = first.upper() if first != first.upper() else first.lower()
        corpus.add(INVALID, f"{path}: enum wrong case {wrong_case!r}", put(wrong_case))
        corpus.add(INVALID, f"{path}: enum unknown value", put("not_a_member"))
        corpus.add(INVALID, f"{path}: enum empty string", put(""))
        corpus.add(INVALID, f"{path}: enum member with trailing space", put(first + " "))

    if kind == "integer":
        integer_cases(corpus, prop, path, put)

    if kind == "string" and "format" in prop:
        for value, expect, what in FORMAT_CASES[prop["format"]]:
            corpus.add(expect, f"{path}: {prop['format']} {expect} - {what} ({value!r})", put(value))

    if kind == "string" and ("minLength" in prop or "maxLength" in prop):
        length_cases(corpus, prop, path, put)

    if kind == "array":
        array_cases(corpus, prop, path, put)


def integer_cases(corpus, prop, path, put):
    bounds = []
    if "minimum" in prop:
        low = prop["minimum"]
        bounds += [(low, VALID, "at minimum"), (low - 1, INVALID, "minimum - 1")]
    if "maximum" in prop:
        high = prop["maximum"]
        bounds += [(high, VALID, "at maximum"), (high + 1, INVALID, "maximum + 1")]
    if prop.get("minimum", -MAX_SAFE) > -MAX_SAFE:
        bounds.append((-MAX_SAFE, INVALID, "most negative safe integer"))
    for value, expect, what in bounds:
        if abs(value) > MAX_SAFE and (corpus.name, path) != TWO_POW_53_CASE:
            continue
        corpus.add(expect, f"{path}: integer {what} ({value})", put(value))


def length_cases(corpus, prop, path, put):
    low = prop.get("minLength", 0)
    if low > 0:
        corpus.add(INVALID, f"{path}: length minLength - 1 ({low - 1}, ASCII)", put(ascii_text(low - 1)))
        corpus.add(VALID, f"{path}: length at minLength ({low}, ASCII)", put(ascii_text(low)))
        if low > 1:
            corpus.add(INVALID, f"{path}: empty string below minLength {low}", put(""))
            corpus.add(INVALID, f"{path}: one emoji (1 code point, 2 UTF-16 units) below minLength {low}", put(EMOJI))
        shorts = [
            ("emoji", emoji_text(low)),
            ("spaces only", " " * low),
        ]
        if low == 1:
            shorts.append(("lone combining mark U+0301", "\u0301"))
        if low == 2:
            shorts += [
                ("e+U+0301, one grapheme", COMBINING),
                ("flag, one grapheme", FLAG),
                ("CR LF, one grapheme", "\r\n"),
            ]
        for what, text in shorts:
            assert len(text) == low
            corpus.add(VALID, f"{path}: length at minLength ({low}, {what})", put(text))
    if "maxLength" in prop:
        high = prop["maxLength"]
        for what, make in LENGTH_TEXTS:
            at, over = make(high), make(high + 1)
            assert len(at) == high and len(over) == high + 1
            corpus.add(VALID, f"{path}: length at maxLength ({high} code points, {what})", put(at))
            corpus.add(INVALID, f"{path}: length maxLength + 1 ({high + 1} code points, {what})", put(over))


def array_cases(corpus, prop, path, put):
    item_schema = prop["items"]

    def items(count):
        return [sample(item_schema, path, True, i) for i in range(count)]

    if "minItems" in prop:
        low = prop["minItems"]
        corpus.add(INVALID, f"{path}: array minItems - 1 (items: {low - 1})", put(items(low - 1)))
        corpus.add(VALID, f"{path}: array at minItems (items: {low})", put(items(low)))
    if "maxItems" in prop:
        high = prop["maxItems"]
        corpus.add(VALID, f"{path}: array at maxItems (items: {high})", put(items(high)))
        corpus.add(INVALID, f"{path}: array maxItems + 1 (items: {high + 1})", put(items(high + 1)))
    good = items(3)
    corpus.add(VALID, f"{path}: array with two identical items (no uniqueItems)", put([good[0], good[0]]))
    last = len(good) - 1
    corpus.add(INVALID, f"{path}: array whose last item is invalid (empty object)", put(good[:last] + [{}]))

    def put_item(value):
        return put(good[:last] + [value])

    item_path = f"{path}[{last}]"
    if item_schema["type"] == "object":
        object_cases(corpus, item_schema, good[last], item_path, put_item)
    else:
        value_cases(corpus, item_schema, good[last], item_path, put_item)


def object_cases(corpus, schema, full, path, put):
    """Required, optional, additional-property and per-property cases for an object value."""
    minimal = {key: value for key, value in full.items() if key in schema["required"]}
    prefix = f"{path}: " if path else ""
    corpus.add(VALID, f"{prefix}minimal (required properties only)", put(minimal))
    corpus.add(VALID, f"{prefix}maximal (all properties)", put(full))
    for name in schema["properties"]:
        if name in schema["required"]:
            corpus.add(INVALID, f"{prefix}missing required {name!r}", put(without(full, name)))
        else:
            corpus.add(VALID, f"{prefix}optional {name!r} absent", put(without(full, name)))
    corpus.add(INVALID, f"{prefix}extra property 'unknown_field'", put(with_value(full, "unknown_field", "x")))
    first = next(iter(schema["properties"]))
    corpus.add(INVALID, f"{prefix}extra property {first.capitalize()!r} (case variant of {first!r})",
               put(with_value(minimal, first.capitalize(), full[first])))
    corpus.add(INVALID, f"{prefix}empty object", put({}))
    for kind, value in [("array", [minimal]), ("string", json.dumps(minimal)), ("null", None),
                        ("integer", 0), ("boolean", True)]:
        corpus.add(INVALID, f"{prefix}not an object: {kind}", put(value))
    for name, prop in schema["properties"].items():
        prop_path = f"{path}.{name}" if path else name
        value_cases(corpus, prop, full[name], prop_path, lambda value, name=name: put(with_value(full, name, value)))


def schema_cases(name, schema):
    corpus = Corpus(name)
    object_cases(corpus, schema, instance(schema, full=True), "", lambda data: data)
    return corpus.rows


def check_row(row):
    """Enforce the corpus rules: no floats, safe integers (one 2^53), ASCII object keys."""
    def walk(value):
        if isinstance(value, float):
            raise ValueError(f"float in {row['note']}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE and value != 2**53:
            raise ValueError(f"unsafe integer in {row['note']}")
        if isinstance(value, dict):
            for key, item in value.items():
                if not key.isascii():
                    raise ValueError(f"non-ASCII key in {row['note']}")
                walk(item)
        if isinstance(value, list):
            for item in value:
                walk(item)
    walk(row["data"])


def main():
    rows = []
    for path in sorted(SCHEMAS_DIR.glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        schema = json.loads(path.read_text(encoding="utf-8"))
        check_keywords(schema, name)
        rows += schema_cases(name, schema)
    for row in rows:
        check_row(row)
    if sum("(9007199254740992)" in row["note"] for row in rows) != 1:
        sys.exit("expected exactly one 2^53 case")
    CORPUS_PATH.parent.mkdir(parents=True, exist_ok=True)
    with CORPUS_PATH.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} cases to {CORPUS_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
