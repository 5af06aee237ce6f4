#!/usr/bin/env python3
"""Verify CaseLedger proofs offline: checkpoints, case proofs, tlog-proofs, consistency.

Stand-alone on purpose: a bank's auditor should be able to check the ledger's
evidence with nothing but Python 3.11 and the `cryptography` package, without
trusting (or building) the ledger's own Swift code.

Formats (docs/trust.md gives the exact grammar; C2SP signed-note, checkpoint and tlog-proof):
  * checkpoints are C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)
    signed with Ed25519 (signature type 0x01);
  * witness cosignatures are c2sp.org/tlog-cosignature Ed25519 (type 0x04);
  * inclusion proofs are c2sp.org/tlog-proof@v1 files or the ledger's JSON case proofs;
  * Merkle trees and proofs are RFC 9162 section 2.1.

Exit status: 0 proved (one sentence on stdout, then what is NOT proved),
1 "FAILED: ..." on stderr, 2 usage error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class VerifyError(Exception):
    """Something did not verify; the message says what and where (exit 1)."""


class UsageError(Exception):
    """The command line itself is wrong: bad key text, unreadable file (exit 2)."""


HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
SIG_TYPE_ED25519 = 0x01
SIG_TYPE_COSIGNATURE_V1 = 0x04
MAX_NOTE_SIGNATURES = 100     # spec: MUST accept >= 16; golang.org/x/mod/sumdb/note stops at 100
MAX_NOTE_BYTES = 1 << 20      # spec allows "a maximum ... overall size of a note"
MAX_PROOF_HASHES = 64         # a tree of at most 2^64 leaves never needs more
MAX_TIMESTAMP = (1 << 63) - 1  # tlog-cosignature: timestamp MUST NOT exceed 2^63 - 1
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
COSIGNATURE_HEADER = "cosignature/v1"
DECIMAL = re.compile(r"0|[1-9][0-9]*")
EVENT_MEMBERS = ("actor", "case_id", "data", "event_id", "occurred_at",
                 "recorded_at", "schema_version", "seq", "type", "version")
# Members a stored envelope may carry besides the hashed ones: "hash" is the
# ledger's chain hash, which the Merkle tree does not cover.
EVENT_EXTRA_MEMBERS = ("hash",)


# ---------------------------------------------------------------------------
# Strict decoding helpers
# ---------------------------------------------------------------------------

def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 section 4) with padding, and only its canonical form.

    Non-canonical spellings (stray characters, non-zero padding bits) would let
    two different texts stand for the same bytes; refusing them keeps every
    value in a proof spelled exactly one way.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise VerifyError(f"{what}: not valid base64: {text[:60]!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise VerifyError(f"{what}: base64 is not in canonical form: {text[:60]!r}")
    return raw


def decode_hash(text: object, what: str) -> bytes:
    """A base64 SHA-256 hash: exactly 32 bytes, nothing else accepted."""
    if not isinstance(text, str):
        raise VerifyError(f"{what}: expected a base64 string, got {type(text).__name__}")
    raw = b64decode_strict(text, what)
    if len(raw) != HASH_SIZE:
        raise VerifyError(f"{what}: a hash must be {HASH_SIZE} bytes, this one is {len(raw)}")
    return raw


def parse_decimal(text: str, what: str, limit: int = (1 << 64) - 1) -> int:
    """ASCII decimal with no leading zeroes (the rule of every C2SP number field)."""
    if not DECIMAL.fullmatch(text):
        raise VerifyError(f"{what}: {text[:40]!r} is not a decimal number without leading zeroes")
    value = int(text)
    if value > limit:
        raise VerifyError(f"{what}: {value} is too large")
    return value


def _reject_float(text: str) -> object:
    raise VerifyError(f"JSON has a non-integer number {text!r}; the ledger never writes one")


def _reject_constant(text: str) -> object:
    raise VerifyError(f"JSON has {text}, which is not JSON and never written by the ledger")


def _object_without_duplicates(pairs: list) -> dict:
    """Duplicate members would let two readers see two different objects."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise VerifyError(f"JSON object has the member {key!r} twice")
        result[key] = value
    return result


def load_json_strict(text: str, what: str) -> object:
    """Parse JSON as the ledger writes it: integers only, no NaN, no duplicate members."""
    try:
        return json.loads(text, parse_float=_reject_float, parse_constant=_reject_constant,
                          object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as error:
        raise VerifyError(f"{what}: not valid JSON: {error}") from None
    except VerifyError as error:
        raise VerifyError(f"{what}: {error}") from None


def is_int(value: object) -> bool:
    """True for JSON integers (Python's bool is an int subclass, so exclude it)."""
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# Canonical event bytes (RFC 8785 JCS, integers only)
# ---------------------------------------------------------------------------

def canonical_json(value: object) -> str:
    """RFC 8785 serialization for values without floats.

    Members are sorted by their UTF-16 code units, as JCS requires (Python's
    sort_keys sorts by code point, which differs only for keys mixing
    characters above U+FFFF with U+E000..U+FFFF). Strings are escaped exactly
    as json.dumps(ensure_ascii=False) does, which is the JCS escaping.
    """
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        members = (json.dumps(k, ensure_ascii=False) + ":" + canonical_json(value[k]) for k in keys)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    raise VerifyError(f"value of type {type(value).__name__} has no canonical form here")


def describe_event(envelope: object) -> str:
    """A short name for an event in error messages."""
    if isinstance(envelope, dict) and is_int(envelope.get("seq")):
        return f"event seq {envelope['seq']}"
    return "event"


def check_envelope(envelope: object, where: str) -> dict:
    """The stored envelope must have the 10 hashed members, plus at most "hash".

    Any other member would be shown to a reader without being covered by the
    proof, so it is refused rather than silently dropped.
    """
    if not isinstance(envelope, dict):
        raise VerifyError(f"{where}: the event is not a JSON object")
    missing = [m for m in EVENT_MEMBERS if m not in envelope]
    if missing:
        raise VerifyError(f"{where}: the event lacks the member(s) {', '.join(missing)}")
    unknown = sorted(set(envelope) - set(EVENT_MEMBERS) - set(EVENT_EXTRA_MEMBERS))
    if unknown:
        raise VerifyError(f"{where}: the event has member(s) {', '.join(unknown)} that no proof covers")
    for member in ("seq", "version", "schema_version"):
        if not is_int(envelope[member]):
            raise VerifyError(f"{where}: {member} is not an integer")
    if envelope["seq"] < 1:
        raise VerifyError(f"{where}: seq {envelope['seq']} is below 1")
    if envelope["version"] < 1:
        raise VerifyError(f"{where}: version {envelope['version']} is below 1")
    for member in ("actor", "case_id", "event_id", "occurred_at", "recorded_at", "type"):
        if not isinstance(envelope[member], str):
            raise VerifyError(f"{where}: {member} is not a string")
    if not isinstance(envelope["data"], dict):
        raise VerifyError(f"{where}: data is not a JSON object")
    return envelope


def canonical_event_bytes(envelope: dict, where: str) -> bytes:
    """The bytes the Merkle leaf covers: JCS of exactly the 10 hashed members."""
    hashed = {member: envelope[member] for member in EVENT_MEMBERS}
    try:
        return canonical_json(hashed).encode("utf-8")
    except UnicodeEncodeError:
        raise VerifyError(f"{where}: a string holds a lone surrogate, not valid Unicode") from None


# ---------------------------------------------------------------------------
# Merkle tree (RFC 9162 section 2.1)
# ---------------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node = SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash_sizes(hashes: list, what: str) -> None:
    for position, value in enumerate(hashes):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise VerifyError(f"{what}: element {position} is not a {HASH_SIZE}-byte hash")


def _shift_until_lsb_set_or_zero(fn: int, sn: int) -> tuple[int, int]:
    """RFC 9162: right-shift fn and sn equally until LSB(fn) is set or fn is 0."""
    while fn != 0 and fn & 1 == 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list, root: bytes) -> None:
    """RFC 9162 section 2.1.3.2, step by step. Raises VerifyError on any failure.

    The two `sn` tests are what reject a proof with hashes left over or missing
    (the immudb GHSA-672p-m5jq-mrh8 lesson): every hash must be used, and the
    walk must reach the root exactly when the hashes run out.
    """
    _check_hash_sizes([leaf, root], "inclusion")
    _check_hash_sizes(proof, "inclusion proof")
    # 1. leaf_index must be below tree_size.
    if index < 0 or index >= size:
        raise VerifyError(f"leaf index {index} is not below tree size {size}")
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn = index, size - 1
    r = leaf
    # 4. For each value p in the inclusion path:
    for used, p in enumerate(proof):
        if sn == 0:
            raise VerifyError(f"inclusion proof has {len(proof) - used} hash(es) too many "
                              f"({len(proof)} given, {used} needed)")
        if fn & 1 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                fn, sn = _shift_until_lsb_set_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r must equal the root.
    if sn != 0:
        raise VerifyError(f"inclusion proof is missing hashes ({len(proof)} given)")
    if r != root:
        raise VerifyError("inclusion proof does not lead to the checkpoint root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: list) -> None:
    """Consistency of two tree heads. Raises VerifyError on any failure.

    RFC 9162 section 2.1.4.2 covers 0 < first < second, and its steps are
    followed exactly. The two edge cases come from C2SP tlog-witness (RFC 9162
    defines no proof for them): equal sizes need an empty proof and equal
    roots; an empty old tree is consistent with every tree, with an empty proof.
    """
    _check_hash_sizes([root1, root2], "consistency")
    _check_hash_sizes(proof, "consistency proof")
    if size1 < 0 or size2 < 0:
        raise VerifyError("tree sizes cannot be negative")
    if size1 > size2:
        raise VerifyError(f"old size {size1} is larger than new size {size2}")
    if size1 == size2:
        if proof:
            raise VerifyError(f"sizes are equal ({size1}) but the proof is not empty")
        if root1 != root2:
            raise VerifyError(f"same size {size1} but different roots: the log forked")
        return
    if size1 == 0:
        if proof:
            raise VerifyError("old size is 0 but the proof is not empty")
        if root1 != EMPTY_ROOT:
            raise VerifyError("old size is 0 but its root is not the empty-tree hash")
        return
    # 1. An empty path fails.
    if not proof:
        raise VerifyError(f"consistency proof from {size1} to {size2} is empty")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = size1 - 1, size2 - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until it is not.
    while fn & 1 == 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for used, c in enumerate(path[1:], start=1):
        if sn == 0:
            raise VerifyError(f"consistency proof has {len(path) - used} hash(es) too many")
        if fn & 1 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn & 1 == 0:
                fn, sn = _shift_until_lsb_set_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    if sn != 0:
        raise VerifyError(f"consistency proof is missing hashes ({len(proof)} given)")
    if fr != root1:
        raise VerifyError(f"consistency proof does not lead to the old root (size {size1})")
    if sr != root2:
        raise VerifyError(f"consistency proof does not lead to the new root (size {size2})")


# ---------------------------------------------------------------------------
# Verifier keys (c2sp.org/signed-note)
# ---------------------------------------------------------------------------

def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and contain no Unicode spaces and no '+'."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def compute_key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """One trusted Ed25519 key: a log key (type 0x01) or a witness key (type 0x04)."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: bytes

    @property
    def id_hex(self) -> str:
        return self.key_id.hex()

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
            return True
        except InvalidSignature:
            return False


def parse_vkey(text: str, sig_type: int, option: str) -> VerifierKey:
    """`<name>+<8 hex key id>+<base64(type || 32-byte key)>`; errors are usage errors."""
    parts = text.strip().split("+", 2)  # base64 may hold '+'; name and id may not
    if len(parts) != 3:
        raise UsageError(f"{option}: {text!r} is not <name>+<key id>+<key>")
    name, id_hex, key_b64 = parts
    if not is_valid_key_name(name):
        raise UsageError(f"{option}: {name!r} is not a valid key name")
    if not re.fullmatch(r"[0-9a-f]{8}", id_hex):
        raise UsageError(f"{option}: key id {id_hex!r} is not 8 lowercase hex digits")
    try:
        material = b64decode_strict(key_b64, f"{option} key material")
    except VerifyError as error:
        raise UsageError(str(error)) from None
    if len(material) != 33:
        raise UsageError(f"{option}: key material is {len(material)} bytes, expected 1 + 32 for Ed25519")
    if material[0] != sig_type:
        raise UsageError(f"{option}: {name} has signature type 0x{material[0]:02x}, "
                         f"this option takes type 0x{sig_type:02x}")
    public_key = material[1:]
    key_id = compute_key_id(name, sig_type, public_key)
    if key_id.hex() != id_hex:
        raise UsageError(f"{option}: key id {id_hex} does not match the key (it should be {key_id.hex()})")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise UsageError(f"{option}: {name} is not a valid Ed25519 public key") from None
    return VerifierKey(name, key_id, sig_type, public_key)


def load_key_argument(argument: str, sig_type: int, option: str) -> VerifierKey:
    """A key given literally, or as @path to a file holding the key text."""
    if argument.startswith("@"):
        argument = read_text_file(argument[1:], option)
    return parse_vkey(argument, sig_type, option)


# ---------------------------------------------------------------------------
# Signed notes and checkpoints
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SignatureLine:
    """One `— <name> base64(key id || payload)` line, not yet verified."""

    name: str
    key_id: bytes
    payload: bytes


def parse_signed_note(note: str, what: str) -> tuple[str, list[SignatureLine]]:
    """Split a note into its text (with final newline) and its signature lines.

    Grammar (c2sp.org/signed-note): text ending in newline, a blank line, then
    one or more signature lines. The text ends at the LAST blank line.
    """
    encoded = note.encode("utf-8", errors="surrogatepass")
    if len(encoded) > MAX_NOTE_BYTES:
        raise VerifyError(f"{what}: note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise VerifyError(f"{what}: note is not valid UTF-8") from None
    for ch in note:
        if ord(ch) < 0x20 and ch != "\n":
            raise VerifyError(f"{what}: note contains control character U+{ord(ch):04X}")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerifyError(f"{what}: note has no blank line before its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block or not block.endswith("\n"):
        raise VerifyError(f"{what}: note signatures must be present and end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise VerifyError(f"{what}: note has {len(lines)} signatures, more than {MAX_NOTE_SIGNATURES}")
    return text, [parse_signature_line(line, what) for line in lines]


def parse_signature_line(line: str, what: str) -> SignatureLine:
    """`— <key name> <base64(4-byte key id || signature)>`."""
    if not line.startswith("\u2014 "):
        raise VerifyError(f"{what}: signature line does not start with an em dash and a space: {line[:60]!r}")
    name, space, b64 = line[2:].partition(" ")
    if not space or not is_valid_key_name(name) or not b64:
        raise VerifyError(f"{what}: malformed signature line {line[:60]!r}")
    raw = b64decode_strict(b64, f"{what}: signature by {name}")
    if len(raw) < 5:
        raise VerifyError(f"{what}: signature by {name} is too short")
    return SignatureLine(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class Checkpoint:
    """The note text of a c2sp.org/tlog-checkpoint."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    text: str


def parse_checkpoint_text(text: str, what: str) -> Checkpoint:
    """At least three non-empty lines: origin, tree size, base64 root; then extension lines."""
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise VerifyError(f"{what}: checkpoint needs origin, size and root lines, it has {len(lines)} line(s)")
    for number, line in enumerate(lines, start=1):
        if not line:
            raise VerifyError(f"{what}: checkpoint line {number} is empty")
    origin = lines[0]
    size = parse_decimal(lines[1], f"{what}: tree size")
    root = decode_hash(lines[2], f"{what}: root hash")
    if size == 0 and root != EMPTY_ROOT:
        raise VerifyError(f"{what}: tree size is 0 but the root is not SHA-256 of the empty string")
    return Checkpoint(origin, size, root, tuple(lines[3:]), text)


@dataclass
class VerifiedCheckpoint:
    """A checkpoint whose log signature (and any requested cosignatures) verified."""

    checkpoint: Checkpoint
    log_signers: list[VerifierKey]
    cosigners: list[tuple[VerifierKey, int]] = field(default_factory=list)


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What an Ed25519 tlog-cosignature/v1 signs: header, time line, checkpoint text."""
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{checkpoint_text}".encode("utf-8")


def verify_log_signatures(text: str, lines: list[SignatureLine], keys: list[VerifierKey],
                          what: str) -> list[VerifierKey]:
    """Every line matching a given key (name AND id) must verify; others are ignored."""
    signers = []
    for line in lines:
        for key in keys:
            if line.name != key.name or line.key_id != key.key_id:
                continue
            if len(line.payload) != 64 or not key.verify(line.payload, text.encode("utf-8")):
                raise VerifyError(f"{what}: bad signature by {key.name} (key {key.id_hex})")
            if key not in signers:
                signers.append(key)
    return signers


def verify_cosignatures(text: str, lines: list[SignatureLine], witnesses: list[VerifierKey],
                        what: str) -> list[tuple[VerifierKey, int]]:
    """Each given witness needs a valid cosignature; returns (witness, latest time)."""
    results = []
    for witness in witnesses:
        times = []
        for line in lines:
            if line.name != witness.name or line.key_id != witness.key_id:
                continue
            if len(line.payload) != 8 + 64:
                raise VerifyError(f"{what}: cosignature by {witness.name} has the wrong length")
            timestamp = int.from_bytes(line.payload[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                raise VerifyError(f"{what}: cosignature by {witness.name} has timestamp above 2^63-1")
            if not witness.verify(line.payload[8:], cosigned_message(text, timestamp)):
                raise VerifyError(f"{what}: bad cosignature by {witness.name} (key {witness.id_hex}, "
                                  f"time {format_time(timestamp)})")
            times.append(timestamp)
        if not times:
            raise VerifyError(f"{what}: no cosignature by witness {witness.name} (key {witness.id_hex})")
        results.append((witness, max(times)))
    return results


def open_checkpoint(note: str, keys: list[VerifierKey], witnesses: list[VerifierKey],
                    what: str = "checkpoint") -> VerifiedCheckpoint:
    """Parse and verify a checkpoint note against the given log and witness keys.

    Policy: a --key's name is the origin it vouches for, so at least one given
    key whose name equals the checkpoint origin must have signed it
    (tlog-proof: "signed by a log public key configured for that origin line").
    """
    text, lines = parse_signed_note(note, what)
    checkpoint = parse_checkpoint_text(text, what)
    signers = verify_log_signatures(text, lines, keys, what)
    signers_for_origin = [key for key in signers if key.name == checkpoint.origin]
    if not signers_for_origin:
        if signers:
            raise VerifyError(f"{what}: signed by {signers[0].name}, but its origin is {checkpoint.origin}")
        given = ", ".join(f"{k.name} ({k.id_hex})" for k in keys)
        raise VerifyError(f"{what}: for origin {checkpoint.origin}, no signature by a given key ({given})")
    cosigners = verify_cosignatures(text, lines, witnesses, what)
    return VerifiedCheckpoint(checkpoint, signers_for_origin, cosigners)


# ---------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------

def format_time(timestamp: int) -> str:
    """Unix seconds as UTC ISO 8601, e.g. 2026-12-02T10:00:00Z."""
    try:
        moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return f"unix time {timestamp}"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_signers(verified: VerifiedCheckpoint) -> str:
    """'signed by X (key 1a2b3c4d); cosigned by W at T' for the end of a sentence."""
    signed = ", ".join(f"{k.name} (key {k.id_hex})" for k in verified.log_signers)
    sentence = f"signed by {signed}"
    if verified.cosigners:
        cosigned = ", ".join(f"{w.name} at {format_time(t)}" for w, t in verified.cosigners)
        sentence += f"; cosigned by {cosigned}"
    extensions = len(verified.checkpoint.extensions)
    if extensions:
        sentence += f" (the checkpoint has {extensions} extension line(s), which nothing here checks)"
    return sentence


def describe_tree(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.origin} at size {checkpoint.size:,}"


# ---------------------------------------------------------------------------
# Case proofs (caseledger prove case, evidence.json)
# ---------------------------------------------------------------------------

def extract_case_proof(document: object) -> dict:
    """The prove-case object itself, or the "proof" member of an evidence pack."""
    if isinstance(document, dict) and "checkpoint" in document and "events" in document:
        return document
    if isinstance(document, dict) and isinstance(document.get("proof"), dict):
        inner = document["proof"]
        if "checkpoint" in inner and "events" in inner:
            return inner
    raise VerifyError("file is neither a prove-case proof nor an evidence pack with a \"proof\" member")


def describe_versions(first: int, last: int) -> str:
    return f"version {first}" if first == last else f"versions {first}\u2013{last}"


def check_version_sequence(envelopes: list[dict], case_id: str) -> None:
    """Versions must run 1, 2, 3, ... in the order listed, seq rising with them.

    A prove-case proof holds every event of the case up to the checkpoint, and
    version k always has a smaller seq than version k+1, so a missing first
    version or a hole means events were left out.
    """
    for previous, current in zip(envelopes, envelopes[1:]):
        if current["version"] <= previous["version"]:
            raise VerifyError(f"case {case_id}: events not in version order: version {current['version']} "
                              f"(seq {current['seq']}) listed after version {previous['version']} "
                              f"(seq {previous['seq']})")
        if current["seq"] <= previous["seq"]:
            raise VerifyError(f"case {case_id}: version {current['version']} has seq {current['seq']}, "
                              f"not after version {previous['version']} (seq {previous['seq']})")
    first = envelopes[0]
    if first["version"] != 1:
        raise VerifyError(f"case {case_id}: first event shown is version {first['version']} (seq {first['seq']}); "
                          f"{describe_versions(1, first['version'] - 1)} missing")
    for previous, current in zip(envelopes, envelopes[1:]):
        if current["version"] != previous["version"] + 1:
            raise VerifyError(f"case {case_id}: gap: "
                              f"{describe_versions(previous['version'] + 1, current['version'] - 1)} missing "
                              f"between seq {previous['seq']} and seq {current['seq']}")


def verify_case_event(item: object, position: int, checkpoint: Checkpoint) -> dict:
    """One entry of "events": envelope, leaf_index == seq - 1 < size, inclusion proof."""
    where = f"events[{position}]"
    if not isinstance(item, dict):
        raise VerifyError(f"{where}: not a JSON object")
    for member in ("event", "leaf_index", "inclusion"):
        if member not in item:
            raise VerifyError(f"{where}: lacks the member {member}")
    envelope = check_envelope(item["event"], where)
    where = f"{where} ({describe_event(envelope)}, version {envelope['version']})"
    index = item["leaf_index"]
    if not is_int(index):
        raise VerifyError(f"{where}: leaf_index is not an integer")
    if index != envelope["seq"] - 1:
        raise VerifyError(f"{where}: leaf_index {index} is not seq - 1 = {envelope['seq'] - 1}")
    if index >= checkpoint.size:
        raise VerifyError(f"{where}: leaf index {index} is not below the checkpoint size {checkpoint.size}")
    hashes = item["inclusion"]
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise VerifyError(f"{where}: inclusion is not a list of at most {MAX_PROOF_HASHES} hashes")
    proof = [decode_hash(h, f"{where}: inclusion[{n}]") for n, h in enumerate(hashes)]
    leaf = leaf_hash(canonical_event_bytes(envelope, where))
    try:
        verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
    except VerifyError as error:
        raise VerifyError(f"{where}: {error}") from None
    return envelope


def verify_case_proof(document: object, keys: list[VerifierKey],
                      witnesses: list[VerifierKey]) -> tuple[str, str]:
    """All checks of a case proof; returns (what is proved, what is not)."""
    proof = extract_case_proof(document)
    if not isinstance(proof["checkpoint"], str):
        raise VerifyError("checkpoint is not a string")
    verified = open_checkpoint(proof["checkpoint"], keys, witnesses)
    checkpoint = verified.checkpoint
    items = proof["events"]
    if not isinstance(items, list) or not items:
        raise VerifyError("events is not a non-empty list")
    envelopes = [verify_case_event(item, n, checkpoint) for n, item in enumerate(items)]
    case_id = envelopes[0]["case_id"]
    for envelope in envelopes:
        if envelope["case_id"] != case_id:
            raise VerifyError(f"{describe_event(envelope)} belongs to case {envelope['case_id']}, not {case_id}")
    if "case_id" in proof and proof["case_id"] != case_id:
        raise VerifyError(f"proof says case_id {proof['case_id']!r} but its events are of case {case_id}")
    check_version_sequence(envelopes, case_id)
    last = envelopes[-1]
    count = len(envelopes)
    proved = (f"{count} event{'s' if count != 1 else ''} of case {case_id} "
              f"({describe_versions(1, last['version'])}, no gaps), included in "
              f"{describe_tree(checkpoint)}, {describe_signers(verified)}")
    not_proved = (f"Not proved: that no event of case {case_id} came after version {last['version']} "
                  f"(seq {last['seq']}); a later checkpoint could hold more.")
    return proved, not_proved


# ---------------------------------------------------------------------------
# tlog-proof files and single-event inclusion
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TlogProof:
    """A parsed c2sp.org/tlog-proof@v1 file (the checkpoint still unverified)."""

    extra: bytes | None
    index: int
    hashes: list[bytes]
    checkpoint_note: str


def parse_tlog_proof(text: str) -> TlogProof:
    """Header, optional `extra <b64>`, `index <N>`, hash lines, empty line, checkpoint."""
    lines = text.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise VerifyError(f"tlog-proof: first line is not {TLOG_PROOF_HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = b64decode_strict(lines[position][len("extra "):], "tlog-proof: extra line")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise VerifyError(f"tlog-proof: line {position + 1} is not \"index <N>\"")
    index = parse_decimal(lines[position][len("index "):], "tlog-proof: index")
    position += 1
    hashes = []
    while position < len(lines) and lines[position] != "":
        if len(hashes) == MAX_PROOF_HASHES:
            raise VerifyError(f"tlog-proof: more than {MAX_PROOF_HASHES} proof hashes")
        hashes.append(decode_hash(lines[position], f"tlog-proof: line {position + 1}"))
        position += 1
    if position >= len(lines):
        raise VerifyError("tlog-proof: no empty line before the checkpoint")
    checkpoint_note = "\n".join(lines[position + 1:])
    return TlogProof(extra, index, hashes, checkpoint_note)


def verify_event_inclusion(proof_text: str, event_text: str, keys: list[VerifierKey],
                           witnesses: list[VerifierKey]) -> tuple[str, str]:
    """A tlog-proof for one stored envelope: index == seq - 1, proof to a signed root."""
    proof = parse_tlog_proof(proof_text)
    verified = open_checkpoint(proof.checkpoint_note, keys, witnesses, "tlog-proof checkpoint")
    checkpoint = verified.checkpoint
    envelope = check_envelope(load_json_strict(event_text, "event file"), "event file")
    where = f"{describe_event(envelope)} (case {envelope['case_id']}, version {envelope['version']})"
    if proof.index != envelope["seq"] - 1:
        raise VerifyError(f"{where}: tlog-proof index {proof.index} is not seq - 1 = {envelope['seq'] - 1}")
    leaf = leaf_hash(canonical_event_bytes(envelope, where))
    try:
        verify_inclusion(leaf, proof.index, checkpoint.size, proof.hashes, checkpoint.root)
    except VerifyError as error:
        raise VerifyError(f"{where}: {error}") from None
    extra = " (its unauthenticated extra line was ignored)" if proof.extra is not None else ""
    proved = (f"Event seq {envelope['seq']} ({envelope['type']}, case {envelope['case_id']}, "
              f"version {envelope['version']}) is included in {describe_tree(checkpoint)}, "
              f"{describe_signers(verified)}{extra}")
    not_proved = (f"Not proved: that the log holds no other events of case {envelope['case_id']}, "
                  f"before or after this one.")
    return proved, not_proved


# ---------------------------------------------------------------------------
# Consistency between two checkpoints
# ---------------------------------------------------------------------------

def parse_hash_lines(text: str, what: str) -> list[bytes]:
    """Base64 hashes one per line; a final newline is allowed, blank lines are not."""
    if text.endswith("\n"):
        text = text[:-1]
    if text == "":
        return []
    lines = text.split("\n")
    if len(lines) > MAX_PROOF_HASHES:
        raise VerifyError(f"{what}: more than {MAX_PROOF_HASHES} hashes")
    return [decode_hash(line, f"{what}: line {n}") for n, line in enumerate(lines, start=1)]


def verify_checkpoint_consistency(old_note: str, new_note: str, proof_text: str,
                                  keys: list[VerifierKey], witnesses: list[VerifierKey]) -> tuple[str, str]:
    """Both checkpoints signed, same origin, and an RFC 9162 proof from old to new.

    Witness keys, if given, are checked on the new checkpoint only: old
    checkpoints are often kept without their cosignatures.
    """
    old = open_checkpoint(old_note, keys, [], "old checkpoint")
    new = open_checkpoint(new_note, keys, witnesses, "new checkpoint")
    if old.checkpoint.origin != new.checkpoint.origin:
        raise VerifyError(f"old checkpoint is of {old.checkpoint.origin}, new one of {new.checkpoint.origin}")
    proof = parse_hash_lines(proof_text, "consistency proof")
    try:
        verify_consistency(old.checkpoint.size, new.checkpoint.size,
                           old.checkpoint.root, new.checkpoint.root, proof)
    except VerifyError as error:
        raise VerifyError(f"from size {old.checkpoint.size} to {new.checkpoint.size}: {error}") from None
    proved = (f"{describe_tree(new.checkpoint)} extends the same log at size {old.checkpoint.size:,} "
              f"without changing any of its first {old.checkpoint.size:,} entries; "
              f"new checkpoint {describe_signers(new)}")
    not_proved = ("Not proved: that anyone else was shown the same checkpoints "
                  "(only witness cosignatures speak to that), nor anything after "
                  f"size {new.checkpoint.size:,}.")
    return proved, not_proved


def verify_checkpoint_only(note: str, keys: list[VerifierKey],
                           witnesses: list[VerifierKey]) -> tuple[str, str]:
    verified = open_checkpoint(note, keys, witnesses)
    checkpoint = verified.checkpoint
    root = base64.b64encode(checkpoint.root).decode("ascii")
    proved = f"Checkpoint of {describe_tree(checkpoint)} (root {root}) is {describe_signers(verified)}"
    not_proved = "Not proved: which events the tree holds; that needs inclusion proofs."
    return proved, not_proved


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def read_text_file(path: str, what: str) -> str:
    """Read a UTF-8 file; a missing or unreadable file is a usage error."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise UsageError(f"{what}: cannot read {path}: {error.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VerifyError(f"{what}: {path} is not valid UTF-8") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify_proof.py",
        description="Verify CaseLedger checkpoints and proofs offline (C2SP signed notes, RFC 9162).")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_keys(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--key", action="append", required=True, metavar="VKEY",
                         help="log verifier key <origin>+<id>+<base64>, or @file; repeatable")
        sub.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                         help="witness cosigner key (type 0x04), or @file; each must have cosigned")

    sub = commands.add_parser("checkpoint", help="verify a signed checkpoint")
    sub.add_argument("file")
    add_keys(sub)
    sub = commands.add_parser("case", help="verify a prove-case JSON or evidence.json")
    sub.add_argument("file")
    add_keys(sub)
    sub = commands.add_parser("inclusion", help="verify a c2sp.org/tlog-proof for one event")
    sub.add_argument("file")
    sub.add_argument("--event", required=True, metavar="EVENTFILE", help="the stored envelope JSON")
    add_keys(sub)
    sub = commands.add_parser("consistency", help="verify that a new checkpoint extends an old one")
    sub.add_argument("--old", required=True, metavar="CHECKPOINT")
    sub.add_argument("--new", required=True, metavar="CHECKPOINT")
    sub.add_argument("--proof", required=True, metavar="FILE", help="base64 hashes, one per line")
    add_keys(sub)
    return parser


def run(args: argparse.Namespace) -> tuple[str, str]:
    """Dispatch a parsed command line; returns (what is proved, what is not)."""
    keys = [load_key_argument(k, SIG_TYPE_ED25519, "--key") for k in args.key]
    witnesses = [load_key_argument(k, SIG_TYPE_COSIGNATURE_V1, "--witness-key") for k in args.witness_key]
    if args.command == "checkpoint":
        return verify_checkpoint_only(read_text_file(args.file, "checkpoint"), keys, witnesses)
    if args.command == "case":
        document = load_json_strict(read_text_file(args.file, "case proof"), args.file)
        return verify_case_proof(document, keys, witnesses)
    if args.command == "inclusion":
        return verify_event_inclusion(read_text_file(args.file, "tlog-proof"),
                                      read_text_file(args.event, "--event"), keys, witnesses)
    return verify_checkpoint_consistency(read_text_file(args.old, "--old"), read_text_file(args.new, "--new"),
                                         read_text_file(args.proof, "--proof"), keys, witnesses)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        proved, not_proved = run(args)
    except UsageError as error:
        print(f"verify_proof.py: error: {error}", file=sys.stderr)
        return 2
    except VerifyError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    print(proved + ".")
    print(not_proved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
