"""Print Python jsonschema's verdict (`valid` or `invalid`) for each line of a schema corpus, in order."""

import json
import sys
from pathlib import Path

import jsonschema

REQUIRED_FORMATS = ("date", "date-time", "uuid")


def fail(message):
    print(f"jsonschema_verdicts: {message}", file=sys.stderr)
    sys.exit(1)


def reject_float(text):
    raise ValueError(f"floating-point number {text} in the corpus")


def main():
    if len(sys.argv) != 3:
        fail("usage: python3 jsonschema_verdicts.py SCHEMAS_DIR CORPUS.ndjson")
    schemas_dir, corpus_path = Path(sys.argv[1]), Path(sys.argv[2])

    format_checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    missing = [name for name in REQUIRED_FORMATS if name not in format_checker.checkers]
    if missing:
        fail(f"the format checker cannot check {missing} (is rfc3339-validator installed?)")

    validators = {}
    verdicts = []
    with corpus_path.open(encoding="utf-8") as corpus:
        for number, line in enumerate(corpus, start=1):
            try:
                case = json.loads(line, parse_float=reject_float, parse_constant=reject_float)
            except ValueError as error:
                fail(f"{corpus_path}:{number}: {error}")
            name = case["schema"]
            if name not in validators:
                schema_path = schemas_dir / f"{name}.schema.json"
                try:
                    schema = json.loads(schema_path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    fail(f"{corpus_path}:{number}: cannot load {schema_path}: {error}")
                try:
                    jsonschema.Draft202012Validator.check_schema(schema)
                except jsonschema.SchemaError as error:
                    fail(f"{schema_path} is not a valid schema: {error.message}")
                validators[name] = jsonschema.Draft202012Validator(schema, format_checker=format_checker)
            verdicts.append("valid" if validators[name].is_valid(case["data"]) else "invalid")
    sys.stdout.write("".join(verdict + "\n" for verdict in verdicts))


if __name__ == "__main__":
    main()
