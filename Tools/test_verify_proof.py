"""Tests for Tools/verify_proof.py.

Run from the repository root:  python3 -m unittest Tools/test_verify_proof.py

The Merkle reference code here (MTH, PATH, PROOF) follows the RFC 9162 section
2.1 definitions directly and shares nothing with the verifier, so the brute
force tests check one reading of the RFC against another.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import io
import json
import os
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import verify_proof as vp  # noqa: E402


# ---------------------------------------------------------------------------
# Reference Merkle tree (RFC 9162 section 2.1.1, 2.1.3.1, 2.1.4.1)
# ---------------------------------------------------------------------------

def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class RefTree:
    """MTH, PATH and PROOF over a fixed list of leaf data, memoized by range."""

    def __init__(self, leaves: list[bytes]):
        self.leaf_hashes = [ref_leaf(d) for d in leaves]
        self.mth = functools.lru_cache(maxsize=None)(self._mth)

    def _mth(self, a: int, b: int) -> bytes:
        n = b - a
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaf_hashes[a]
        k = split_point(n)
        return ref_node(self.mth(a, a + k), self.mth(a + k, b))

    def path(self, m: int, a: int, b: int) -> list[bytes]:
        n = b - a
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return self.path(m, a, a + k) + [self.mth(a + k, b)]
        return self.path(m - k, a + k, b) + [self.mth(a, a + k)]

    def subproof(self, m: int, a: int, b: int, complete: bool) -> list[bytes]:
        n = b - a
        if m == n:
            return [] if complete else [self.mth(a, b)]
        k = split_point(n)
        if m <= k:
            return self.subproof(m, a, a + k, complete) + [self.mth(a + k, b)]
        return self.subproof(m - k, a + k, b, False) + [self.mth(a, a + k)]

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return self.path(index, 0, size)

    def consistency(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True) if 0 < m < n else []


def accepts(function, *args) -> bool:
    try:
        function(*args)
        return True
    except vp.VerifyError:
        return False


def rejection(function, *args) -> str:
    """The verifier's error message, or "" if it accepted."""
    try:
        function(*args)
        return ""
    except vp.VerifyError as error:
        return str(error)


def flip_bit(proof: list[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 0x10]) + changed[position][1:]
    return changed


# ---------------------------------------------------------------------------
# Published vectors: transparency-dev/merkle (cmd/proofgen, testdata/)
# ---------------------------------------------------------------------------

TD_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
TD_ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]


def hx(*hashes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


# (leaf index, tree size, proof); proofgen lists them 1-based, these are 0-based.
TD_INCLUSION = [
    (0, 1, []),
    (0, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 3, hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]

# (size1, size2, proof)
TD_CONSISTENCY = [
    (1, 1, []),
    (1, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 7, hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]


class PublishedMerkleVectors(unittest.TestCase):
    def test_roots_for_sizes_1_to_8(self):
        tree = RefTree(TD_LEAVES)
        for size in range(1, 9):
            self.assertEqual(tree.mth(0, size), TD_ROOTS[size - 1], f"size {size}")
        self.assertEqual(TD_ROOTS[7].hex(), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")

    def test_empty_tree_root(self):
        self.assertEqual(vp.EMPTY_ROOT.hex(),
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    def test_inclusion_vectors(self):
        tree = RefTree(TD_LEAVES)
        for index, size, proof in TD_INCLUSION:
            with self.subTest(index=index, size=size):
                self.assertEqual(tree.inclusion(index, size), proof)
                vp.verify_inclusion(vp.leaf_hash(TD_LEAVES[index]), index, size, proof, TD_ROOTS[size - 1])
                self.assertFalse(accepts(vp.verify_inclusion, vp.leaf_hash(TD_LEAVES[index]), index,
                                         size, proof + [TD_ROOTS[0]], TD_ROOTS[size - 1]))

    def test_consistency_vectors(self):
        tree = RefTree(TD_LEAVES)
        for size1, size2, proof in TD_CONSISTENCY:
            with self.subTest(size1=size1, size2=size2):
                self.assertEqual(tree.consistency(size1, size2), proof)
                vp.verify_consistency(size1, size2, TD_ROOTS[size1 - 1], TD_ROOTS[size2 - 1], proof)
                if proof:
                    self.assertFalse(accepts(vp.verify_consistency, size1, size2, TD_ROOTS[size2 - 1],
                                             TD_ROOTS[size1 - 1], proof), "swapped roots")
                    self.assertFalse(accepts(vp.verify_consistency, size1, size2, TD_ROOTS[size1 - 1],
                                             TD_ROOTS[size2 - 1], []), "empty proof")

    def test_single_entry_vector(self):
        # testdata/inclusion/single-entry/matching-root-and-leaf.json
        value = base64.b64decode("DTrtAjFI/9KiWfvQzcf7PPl1ZYdg03dbgq9vkKrMLfw=")
        vp.verify_inclusion(value, 0, 1, [], value)
        self.assertFalse(accepts(vp.verify_inclusion, value, 0, 1, [value], value))

    def test_consistency_edge_cases(self):
        root = TD_ROOTS[0]
        vp.verify_consistency(0, 0, vp.EMPTY_ROOT, vp.EMPTY_ROOT, [])
        vp.verify_consistency(0, 5, vp.EMPTY_ROOT, TD_ROOTS[4], [])
        self.assertFalse(accepts(vp.verify_consistency, 0, 5, vp.EMPTY_ROOT, TD_ROOTS[4], [vp.EMPTY_ROOT]))
        self.assertFalse(accepts(vp.verify_consistency, 0, 5, root, TD_ROOTS[4], []))
        self.assertFalse(accepts(vp.verify_consistency, 1, 1, root, TD_ROOTS[1], []))
        self.assertFalse(accepts(vp.verify_consistency, 1, 1, root, root, [root]))
        self.assertFalse(accepts(vp.verify_consistency, 2, 1, TD_ROOTS[1], root, []))
        self.assertFalse(accepts(vp.verify_consistency, 1, 2, root, TD_ROOTS[1], []))


class BruteForceMerkle(unittest.TestCase):
    """Every index and every size pair up to 64, plus the usual tampering."""

    N = 64

    @classmethod
    def setUpClass(cls):
        cls.tree = RefTree([f"leaf {i}".encode() * (i % 3 + 1) for i in range(2 * cls.N + 1)])

    def test_inclusion_all_indexes(self):
        tree = self.tree
        for size in range(1, self.N + 1):
            root = tree.mth(0, size)
            for index in range(size):
                leaf = tree.leaf_hashes[index]
                proof = tree.inclusion(index, size)
                vp.verify_inclusion(leaf, index, size, proof, root)
                # Leftover or missing steps must be named as such, not just
                # caught by the root comparison (immudb GHSA-672p-m5jq-mrh8).
                self.assertIn("too many", rejection(vp.verify_inclusion, leaf, index, size, proof + [root], root))
                if proof:
                    self.assertIn("missing", rejection(vp.verify_inclusion, leaf, index, size, proof[:-1], root))
                bad = []
                if proof:
                    bad.append(("short", index, size, proof[:-1], root))
                    bad.append(("short front", index, size, proof[1:], root))
                bad.append(("long", index, size, proof + [root], root))
                bad.append(("long front", index, size, [leaf] + proof, root))
                for position in range(len(proof)):
                    bad.append((f"bit flip {position}", index, size, flip_bit(proof, position), root))
                bad.append(("index = size", size, size, proof, root))
                bad.append(("index + size", index + size, size, proof, root))
                for other in (size - 1, size + 1, size * 2, size // 2):
                    if other > index and other != size and tree.inclusion(index, other) != proof:
                        bad.append((f"size {other}", index, other, proof, tree.mth(0, other)))
                bad.append(("wrong root", index, size, proof, tree.mth(0, size + 1)))
                if size > 1:
                    neighbour = index ^ 1 if (index ^ 1) < size else index - 1
                    bad.append(("other index", neighbour, size, proof, root))
                for name, i, s, p, r in bad:
                    self.assertFalse(accepts(vp.verify_inclusion, leaf, i, s, p, r),
                                     f"{name}: index {index} size {size}")

    def test_consistency_all_sizes(self):
        tree = self.tree
        for n in range(1, self.N + 1):
            root2 = tree.mth(0, n)
            for m in range(0, n + 1):
                root1 = tree.mth(0, m)
                proof = tree.consistency(m, n)
                vp.verify_consistency(m, n, root1, root2, proof)
                if m == 0 or m == n:
                    self.assertFalse(accepts(vp.verify_consistency, m, n, root1, root2, [root2]))
                    continue
                self.assertIn("too many", rejection(vp.verify_consistency, m, n, root1, root2, proof + [root1]))
                if len(proof) > 1:
                    self.assertIn("missing", rejection(vp.verify_consistency, m, n, root1, root2, proof[:-1]))
                bad = [("short", m, n, root1, root2, proof[:-1]),
                       ("short front", m, n, root1, root2, proof[1:]),
                       ("long", m, n, root1, root2, proof + [root1]),
                       ("long front", m, n, root1, root2, [root1] + proof),
                       ("swapped roots", m, n, root2, root1, proof),
                       ("wrong old root", m, n, tree.mth(0, m - 1), root2, proof),
                       ("wrong new root", m, n, root1, tree.mth(0, n + 1), proof)]
                for position in range(len(proof)):
                    bad.append((f"bit flip {position}", m, n, root1, root2, flip_bit(proof, position)))
                for m2, n2 in ((m - 1, n), (m + 1, n), (m, n + 1), (m, n - 1), (m, 2 * n)):
                    if 0 < m2 <= n2 and (m2, n2) != (m, n) and tree.consistency(m2, n2) != proof:
                        bad.append((f"sizes {m2},{n2}", m2, n2, tree.mth(0, m2), tree.mth(0, n2), proof))
                for name, s1, s2, r1, r2, p in bad:
                    self.assertFalse(accepts(vp.verify_consistency, s1, s2, r1, r2, p),
                                     f"{name}: {m} -> {n}")


# ---------------------------------------------------------------------------
# Signed notes
# ---------------------------------------------------------------------------

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n"
             "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
             "XmRKuwHjG1Yu72IneyaQM=\n")


class SignedNoteExample(unittest.TestCase):
    def test_c2sp_example_verifies(self):
        key = vp.parse_vkey(C2SP_VKEY, vp.SIG_TYPE_ED25519, "--key")
        self.assertEqual(key.id_hex, "530d903a")
        text, lines = vp.parse_signed_note(C2SP_NOTE, "note")
        self.assertEqual(text, "This is an example message.\n")
        self.assertEqual(vp.verify_log_signatures(text, lines, [key], "note"), [key])

    def test_c2sp_example_altered_text_fails(self):
        key = vp.parse_vkey(C2SP_VKEY, vp.SIG_TYPE_ED25519, "--key")
        text, lines = vp.parse_signed_note(C2SP_NOTE.replace("example message", "example massage"), "note")
        with self.assertRaises(vp.VerifyError):
            vp.verify_log_signatures(text, lines, [key], "note")

    def test_unknown_signatures_are_ignored(self):
        key = vp.parse_vkey(C2SP_VKEY, vp.SIG_TYPE_ED25519, "--key")
        other = "\u2014 example.com/foo " + base64.b64encode(b"\x00\x00\x00\x01" + b"x" * 64).decode() + "\n"
        text, lines = vp.parse_signed_note(C2SP_NOTE + other, "note")
        self.assertEqual(vp.verify_log_signatures(text, lines, [key], "note"), [key])

    def test_malformed_notes(self):
        for note in ("no blank line\n\u2014 a b\n", "text\n\n", "text\n\n- example.com/foo AAAA\n",
                     "te\x01xt\n\n" + C2SP_NOTE.split("\n\n")[1], C2SP_NOTE[:-1]):
            with self.subTest(note=note):
                with self.assertRaises(vp.VerifyError):
                    vp.parse_signed_note(note, "note")

    def test_non_canonical_base64_is_refused(self):
        good = base64.b64encode(TD_ROOTS[0]).decode()
        self.assertEqual(vp.decode_hash(good, "h"), TD_ROOTS[0])
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        last = alphabet.index(good[-2])
        sloppy = good[:-2] + alphabet[last | 1] + "="  # same bytes, non-zero padding bits
        self.assertEqual(base64.b64decode(sloppy), TD_ROOTS[0])
        for bad in (sloppy, good[:-1], good + "\n", " " + good, base64.b64encode(TD_ROOTS[0][:31]).decode()):
            with self.assertRaises(vp.VerifyError):
                vp.decode_hash(bad, "h")

    def test_checkpoint_text_rules(self):
        empty = base64.b64encode(vp.EMPTY_ROOT).decode()
        root = base64.b64encode(TD_ROOTS[0]).decode()
        self.assertEqual(vp.parse_checkpoint_text(f"o\n0\n{empty}\n", "c").size, 0)
        self.assertEqual(vp.parse_checkpoint_text(f"o\n1\n{root}\nx\n", "c").extensions, ("x",))
        for text in (f"o\n0\n{root}\n", f"o\n01\n{root}\n", f"o\n1\n", f"\n1\n{root}\n",
                     f"o\n1\n{root}\n\nx\n", f"o\n-1\n{root}\n", f"o\n1 \n{root}\n"):
            with self.subTest(text=text):
                with self.assertRaises(vp.VerifyError):
                    vp.parse_checkpoint_text(text, "c")

    def test_truncated_signature_from_known_key(self):
        key = vp.parse_vkey(C2SP_VKEY, vp.SIG_TYPE_ED25519, "--key")
        text, b64 = C2SP_NOTE.split("\n\n")[0] + "\n", C2SP_NOTE.split(" ")[-1].strip()
        short = base64.b64encode(base64.b64decode(b64)[:-1]).decode()
        _, lines = vp.parse_signed_note(f"{text}\n\u2014 example.com/foo {short}\n", "note")
        with self.assertRaises(vp.VerifyError):
            vp.verify_log_signatures(text, lines, [key], "note")

    def test_bad_vkeys_are_usage_errors(self):
        for text in ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
                     "example.com/foo+530d903a", "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
                     "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2"):
            with self.subTest(text=text):
                with self.assertRaises(vp.UsageError):
                    vp.parse_vkey(text, vp.SIG_TYPE_ED25519, "--key")
        with self.assertRaises(vp.UsageError):  # a type 0x01 key given as a witness
            vp.parse_vkey(C2SP_VKEY, vp.SIG_TYPE_COSIGNATURE_V1, "--witness-key")


# ---------------------------------------------------------------------------
# A tiny signed ledger built in-test
# ---------------------------------------------------------------------------

ORIGIN = "ledger.bank.example/collections"


class Signer:
    """An Ed25519 note signer: log key (type 0x01) or witness (type 0x04)."""

    def __init__(self, name: str, sig_type: int):
        self.name = name
        self.sig_type = sig_type
        self.private = Ed25519PrivateKey.generate()
        public = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]
        self.vkey = f"{name}+{self.key_id.hex()}+{base64.b64encode(bytes([sig_type]) + public).decode()}"

    def signature_line(self, text: str) -> str:
        payload = self.key_id + self.private.sign(text.encode())
        return f"\u2014 {self.name} {base64.b64encode(payload).decode()}\n"

    def cosignature_line(self, text: str, timestamp: int) -> str:
        message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        payload = self.key_id + timestamp.to_bytes(8, "big") + self.private.sign(message)
        return f"\u2014 {self.name} {base64.b64encode(payload).decode()}\n"


def checkpoint_text(size: int, root: bytes, origin: str = ORIGIN) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(text: str, *lines: str) -> str:
    return text + "\n" + "".join(lines)


def make_envelope(seq: int, case_id: str, version: int) -> dict:
    return {"seq": seq, "event_id": f"00000000-0000-4000-8000-{seq:012d}", "case_id": case_id,
            "version": version, "type": "call.placed" if version > 1 else "case.opened", "schema_version": 1,
            "occurred_at": "2024-03-05T22:30:00+08:00", "recorded_at": f"2024-03-05T14:31:{seq:02d}.123456Z",
            "actor": "collector:zhang.wei", "data": {"direction": "outbound", "note": "电话 \"ok\"\n", "n": seq},
            "hash": "ab" * 32}


def independent_canonical(envelope: dict) -> bytes:
    """The brief's definition: json.dumps with sorted keys over the 10 hashed members."""
    members = {k: v for k, v in envelope.items() if k != "hash"}
    return json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Ledger:
    """Nine events; case C-2024-000123 holds seq 2, 3, 5, 7, 9 as versions 1-5."""

    CASE = "C-2024-000123"
    CASE_SEQS = (2, 3, 5, 7, 9)

    def __init__(self):
        self.envelopes = []
        version = 0
        for seq in range(1, 10):
            if seq in self.CASE_SEQS:
                version += 1
                self.envelopes.append(make_envelope(seq, self.CASE, version))
            else:
                self.envelopes.append(make_envelope(seq, "C-2024-000999", seq))
        self.tree = RefTree([independent_canonical(e) for e in self.envelopes])
        self.log = Signer(ORIGIN, 0x01)
        self.witness = Signer("witness.example/w1", 0x04)

    def checkpoint(self, size: int = 9, cosign_time: int | None = None) -> str:
        text = checkpoint_text(size, self.tree.mth(0, size))
        lines = [self.log.signature_line(text)]
        if cosign_time is not None:
            lines.append(self.witness.cosignature_line(text, cosign_time))
        return sign_note(text, *lines)

    def case_proof(self, size: int = 9, **checkpoint_options) -> dict:
        events = []
        for envelope in self.envelopes[:size]:
            if envelope["case_id"] == self.CASE:
                index = envelope["seq"] - 1
                proof = self.tree.inclusion(index, size)
                events.append({"event": copy.deepcopy(envelope), "leaf_index": index,
                               "inclusion": [base64.b64encode(h).decode() for h in proof]})
        return {"format": "caseledger-proof/v1", "case_id": self.CASE, "origin": ORIGIN,
                "checkpoint": self.checkpoint(size, **checkpoint_options), "events": events}


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.ledger = Ledger()

    def tearDown(self):
        self.directory.cleanup()

    def write(self, name: str, content) -> str:
        path = os.path.join(self.directory.name, name)
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def run_cli(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = vp.main(list(argv))
            except SystemExit as exit_:
                code = exit_.code
        return code, out.getvalue(), err.getvalue()

    def assert_ok(self, *argv: str) -> str:
        code, out, err = self.run_cli(*argv)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        return out

    def assert_failed(self, *argv: str, mentions: str = "") -> str:
        code, out, err = self.run_cli(*argv)
        self.assertEqual(code, 1, out + err)
        self.assertTrue(err.startswith("FAILED: "), err)
        self.assertIn(mentions, err)
        return err


class CaseProofTests(CliTestCase):
    def check_case(self, proof: dict, *extra: str) -> tuple[int, str, str]:
        return self.run_cli("case", self.write("proof.json", proof), "--key", self.ledger.log.vkey, *extra)

    def test_canonical_bytes_match_the_brief(self):
        for envelope in self.ledger.envelopes:
            self.assertEqual(vp.canonical_event_bytes(envelope, "e"), independent_canonical(envelope))

    def test_valid_proof(self):
        out = self.assert_ok("case", self.write("p.json", self.ledger.case_proof()), "--key", self.ledger.log.vkey)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("5 events of case C-2024-000123 (versions 1\u20135, no gaps)", lines[0])
        self.assertIn(f"included in {ORIGIN} at size 9", lines[0])
        self.assertIn(f"signed by {ORIGIN} (key {self.ledger.log.key_id.hex()})", lines[0])
        self.assertIn("no event of case C-2024-000123 came after version 5", lines[1])

    def test_key_from_file_and_evidence_pack(self):
        key_file = self.write("log.vkey", self.ledger.log.vkey + "\n")
        pack = {"case": {"id": "x"}, "timeline": [1, 2], "proof": self.ledger.case_proof()}
        self.assert_ok("case", self.write("evidence.json", pack), "--key", "@" + key_file)

    def test_proof_at_smaller_checkpoint(self):
        out = self.assert_ok("case", self.write("p.json", self.ledger.case_proof(size=5)),
                             "--key", self.ledger.log.vkey)
        self.assertIn("3 events of case C-2024-000123 (versions 1\u20133, no gaps)", out)

    def test_edited_data(self):
        proof = self.ledger.case_proof()
        proof["events"][2]["event"]["data"]["direction"] = "inbound"
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="seq 5")

    def test_edited_hash_member_is_ignored(self):
        proof = self.ledger.case_proof()
        proof["events"][2]["event"]["hash"] = "cd" * 32
        self.assert_ok("case", self.write("p.json", proof), "--key", self.ledger.log.vkey)

    def test_edited_root_and_size(self):
        good = self.ledger.case_proof()
        text, signatures = good["checkpoint"].split("\n\n")
        origin, size, root = text.split("\n")
        other_root = base64.b64encode(self.ledger.tree.mth(0, 8)).decode()
        for edited in (f"{origin}\n{size}\n{other_root}", f"{origin}\n10\n{root}", f"{origin}\n8\n{root}"):
            proof = copy.deepcopy(good)
            proof["checkpoint"] = edited + "\n\n" + signatures
            self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                               mentions="bad signature")

    def test_wrong_key(self):
        stranger = Signer(ORIGIN, 0x01)
        self.assert_failed("case", self.write("p.json", self.ledger.case_proof()), "--key", stranger.vkey,
                           mentions="no signature by a given key")

    def test_key_for_another_origin(self):
        other = Signer("other.example/log", 0x01)
        proof = self.ledger.case_proof()
        text = proof["checkpoint"].split("\n\n")[0] + "\n"
        proof["checkpoint"] = sign_note(text, other.signature_line(text))
        self.assert_failed("case", self.write("p.json", proof), "--key", other.vkey, mentions="origin")

    def test_dropped_middle_event_is_a_gap(self):
        proof = self.ledger.case_proof()
        del proof["events"][2]
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="gap: version 3 missing between seq 3 and seq 7")

    def test_dropped_first_event(self):
        proof = self.ledger.case_proof()
        del proof["events"][0]
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="first event shown is version 2")

    def test_reordered(self):
        proof = self.ledger.case_proof()
        proof["events"][1], proof["events"][2] = proof["events"][2], proof["events"][1]
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="not in version order")

    def test_wrong_leaf_index(self):
        proof = self.ledger.case_proof()
        proof["events"][1]["leaf_index"] += 1
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="leaf_index")

    def test_inclusion_one_hash_short_or_long(self):
        for change in (lambda h: h[:-1], lambda h: h + [h[0]]):
            proof = self.ledger.case_proof()
            proof["events"][3]["inclusion"] = change(proof["events"][3]["inclusion"])
            self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                               mentions="seq 7")

    def test_event_of_another_case(self):
        proof = self.ledger.case_proof()
        other = self.ledger.envelopes[3]
        proof["events"][2] = {"event": other, "leaf_index": 3,
                              "inclusion": [base64.b64encode(h).decode() for h in self.ledger.tree.inclusion(3, 9)]}
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="C-2024-000999")

    def test_top_level_case_id_mismatch(self):
        proof = self.ledger.case_proof()
        proof["case_id"] = "C-2024-000124"
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey, mentions="case_id")

    def test_uncovered_envelope_member(self):
        proof = self.ledger.case_proof()
        proof["events"][0]["event"]["amount_due"] = 100
        self.assert_failed("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                           mentions="amount_due")

    def test_strict_json(self):
        text = json.dumps(self.ledger.case_proof(), ensure_ascii=False)
        with_float = text.replace('"n": 2}', '"n": 2.0}', 1)
        self.assertNotEqual(with_float, text)
        self.assert_failed("case", self.write("p.json", with_float), "--key", self.ledger.log.vkey,
                           mentions="non-integer")
        duplicated = text.replace('"leaf_index": 1,', '"leaf_index": 1, "leaf_index": 1,', 1)
        self.assertNotEqual(duplicated, text)
        self.assert_failed("case", self.write("p.json", duplicated), "--key", self.ledger.log.vkey,
                           mentions="twice")

    def test_unknown_extra_signature_is_ignored(self):
        proof = self.ledger.case_proof()
        stranger = Signer("someone.example/else", 0x01)
        text = proof["checkpoint"].split("\n\n")[0] + "\n"
        proof["checkpoint"] += stranger.signature_line(text)
        self.assert_ok("case", self.write("p.json", proof), "--key", self.ledger.log.vkey)

    def test_extension_lines_are_covered_by_the_signature(self):
        text = checkpoint_text(9, self.ledger.tree.mth(0, 9)) + "ext one\n"
        note = sign_note(text, self.ledger.log.signature_line(text))
        out = self.assert_ok("checkpoint", self.write("cp", note), "--key", self.ledger.log.vkey)
        self.assertIn("1 extension line", out)
        tampered = note.replace("ext one", "ext two")
        self.assert_failed("checkpoint", self.write("cp", tampered), "--key", self.ledger.log.vkey)


class CosignatureTests(CliTestCase):
    TIME = 1796205600  # 2026-12-02T10:00:00Z

    def test_valid_cosignature(self):
        proof = self.ledger.case_proof(cosign_time=self.TIME)
        out = self.assert_ok("case", self.write("p.json", proof), "--key", self.ledger.log.vkey,
                             "--witness-key", self.ledger.witness.vkey)
        self.assertIn("cosigned by witness.example/w1 at 2026-12-02T10:00:00Z", out)

    def test_cosignature_not_required_when_no_witness_key(self):
        proof = self.ledger.case_proof(cosign_time=self.TIME)
        self.assert_ok("case", self.write("p.json", proof), "--key", self.ledger.log.vkey)

    def test_wrong_time(self):
        note = self.ledger.checkpoint(cosign_time=self.TIME)
        text, block = note.split("\n\n")
        line = block.splitlines()[1]
        name, b64 = line[2:].split(" ")
        raw = bytearray(base64.b64decode(b64))
        raw[4:12] = (self.TIME + 1).to_bytes(8, "big")
        forged = f"{text}\n\n{block.splitlines()[0]}\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
        self.assert_failed("checkpoint", self.write("cp", forged), "--key", self.ledger.log.vkey,
                           "--witness-key", self.ledger.witness.vkey, mentions="bad cosignature")

    def test_wrong_witness_key(self):
        impostor = Signer("witness.example/w1", 0x04)
        note = self.ledger.checkpoint(cosign_time=self.TIME)
        self.assert_failed("checkpoint", self.write("cp", note), "--key", self.ledger.log.vkey,
                           "--witness-key", impostor.vkey, mentions="no cosignature by witness")

    def test_missing_cosignature(self):
        self.assert_failed("checkpoint", self.write("cp", self.ledger.checkpoint()), "--key", self.ledger.log.vkey,
                           "--witness-key", self.ledger.witness.vkey, mentions="no cosignature")

    def test_cosignature_over_another_checkpoint(self):
        text = checkpoint_text(9, self.ledger.tree.mth(0, 9))
        other = checkpoint_text(8, self.ledger.tree.mth(0, 8))
        note = sign_note(text, self.ledger.log.signature_line(text),
                         self.ledger.witness.cosignature_line(other, self.TIME))
        self.assert_failed("checkpoint", self.write("cp", note), "--key", self.ledger.log.vkey,
                           "--witness-key", self.ledger.witness.vkey, mentions="bad cosignature")


class TlogProofTests(CliTestCase):
    def tlog_proof(self, seq: int, size: int = 9, extra: str | None = None, hashes=None) -> str:
        index = seq - 1
        if hashes is None:
            hashes = self.ledger.tree.inclusion(index, size)
        lines = ["c2sp.org/tlog-proof@v1"]
        if extra is not None:
            lines.append(f"extra {extra}")
        lines.append(f"index {index}")
        lines += [base64.b64encode(h).decode() for h in hashes]
        return "\n".join(lines) + "\n\n" + self.ledger.checkpoint(size)

    def event_file(self, seq: int) -> str:
        return self.write("event.json", self.ledger.envelopes[seq - 1])

    def test_valid(self):
        out = self.assert_ok("inclusion", self.write("p.tlog-proof", self.tlog_proof(5)),
                             "--event", self.event_file(5), "--key", self.ledger.log.vkey)
        self.assertIn("Event seq 5", out)
        self.assertIn(f"{ORIGIN} at size 9", out)

    def test_extra_line_is_accepted_and_ignored(self):
        out = self.assert_ok("inclusion", self.write("p", self.tlog_proof(5, extra="aGVsbG8=")),
                             "--event", self.event_file(5), "--key", self.ledger.log.vkey)
        self.assertIn("extra", out)

    def test_index_must_be_seq_minus_one(self):
        self.assert_failed("inclusion", self.write("p", self.tlog_proof(5)), "--event", self.event_file(6),
                           "--key", self.ledger.log.vkey, mentions="index 4 is not seq - 1 = 5")

    def test_one_hash_short_or_long(self):
        hashes = self.ledger.tree.inclusion(4, 9)
        for changed in (hashes[:-1], hashes + [hashes[0]]):
            self.assert_failed("inclusion", self.write("p", self.tlog_proof(5, hashes=changed)),
                               "--event", self.event_file(5), "--key", self.ledger.log.vkey)

    def test_malformed_files(self):
        good = self.tlog_proof(5)
        for bad in (good.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
                    good.replace("index 4", "index 04"), good.replace("index 4", "idx 4"),
                    good.replace("\n\n", "\n", 1)):
            self.assert_failed("inclusion", self.write("p", bad), "--event", self.event_file(5),
                               "--key", self.ledger.log.vkey)


class ConsistencyCliTests(CliTestCase):
    def run_consistency(self, old_size: int, new_size: int, proof: list[bytes], *extra: str):
        old = self.write("old", self.ledger.checkpoint(old_size))
        new = self.write("new", self.ledger.checkpoint(new_size))
        proof_file = self.write("proof", "".join(base64.b64encode(h).decode() + "\n" for h in proof))
        return ("consistency", "--old", old, "--new", new, "--proof", proof_file,
                "--key", self.ledger.log.vkey, *extra)

    def test_valid(self):
        out = self.assert_ok(*self.run_consistency(5, 9, self.ledger.tree.consistency(5, 9)))
        self.assertIn("at size 9 extends the same log at size 5", out)

    def test_same_size(self):
        self.assert_ok(*self.run_consistency(9, 9, []))

    def test_tampered(self):
        proof = self.ledger.tree.consistency(5, 9)
        for bad in (proof[:-1], proof + [proof[0]], flip_bit(proof, 0), []):
            self.assert_failed(*self.run_consistency(5, 9, bad))
        self.assert_failed(*self.run_consistency(9, 5, proof), mentions="larger")


class UsageTests(CliTestCase):
    def test_usage_errors_exit_2(self):
        path = self.write("p.json", self.ledger.case_proof())
        for argv in (("case", path, "--key", "not-a-key"),
                     ("case", path),
                     ("case", os.path.join(self.directory.name, "missing.json"), "--key", self.ledger.log.vkey),
                     ("case", path, "--key", self.ledger.log.vkey, "--witness-key", self.ledger.log.vkey),
                     ("case", path, "--key", "@" + os.path.join(self.directory.name, "missing.vkey")),
                     ("frobnicate",)):
            with self.subTest(argv=argv):
                code, _, _ = self.run_cli(*argv)
                self.assertEqual(code, 2)


if __name__ == "__main__":
    unittest.main()
