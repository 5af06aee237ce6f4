import CaseLedgerCore
import CaseLedgerStore
import Foundation
import XCTest

/// docs/trust.md through the real binary: keys, checkpoints, proofs, the witness, and what an
/// earlier checkpoint held outside the bank catches. The stand-alone verifier
/// (`Tools/verify_proof.py`) checks the binary's output, and refuses tampered copies.
final class TransparencyTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = repository.appendingPathComponent("Tools/verify_proof.py").path
    static let origin = "ledger.bank.example/collections"

    /// A generated ledger, the log's key and a witness's key, in a temporary folder.
    struct Setup {
        let folder: TemporaryFolder
        let db: String
        let logKey: String
        let logVerifier: String
        let witnessKey: String
        let witnessVerifier: String

        func path(_ name: String) -> String { folder.path(name) }
    }

    func makeSetup(cases: Int = 30) throws -> Setup {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "\(cases)", "--seed", "4"]).exitCode, 0)
        let log = try CLI.run(["key", "generate", "--name", Self.origin, "--out", folder.path("log.key")])
        XCTAssertEqual(log.exitCode, 0, log.stderr)
        let witness = try CLI.run(["key", "generate", "--name", "witness.example/w1", "--out", folder.path("w.key"), "--witness"])
        XCTAssertEqual(witness.exitCode, 0, witness.stderr)
        return Setup(folder: folder, db: db, logKey: folder.path("log.key"), logVerifier: log.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                     witnessKey: folder.path("w.key"), witnessVerifier: witness.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @discardableResult
    func sign(_ setup: Setup, _ name: String, db: String? = nil, environment: [String: String] = [:]) throws -> String {
        let out = setup.path(name)
        let result = try CLI.run(["checkpoint", "--db", db ?? setup.db, "--key", setup.logKey, "--out", out], environment: environment)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        return out
    }

    func python(_ arguments: [String]) throws -> CLI.Result {
        try runTool("/usr/bin/env", ["python3", Self.script] + arguments, in: try TemporaryFolder(), timeout: 60)
    }

    // MARK: - Keys

    func testKeyGenerateWritesAPrivateFileRefusesToOverwriteAndPrintsItsVerifier() throws {
        let setup = try makeSetup(cases: 1)
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.logKey)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let text = try String(contentsOfFile: setup.logKey, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("PRIVATE+KEY+\(Self.origin)+"), text)
        XCTAssertTrue(setup.logVerifier.hasPrefix(Self.origin + "+"), setup.logVerifier)
        XCTAssertEqual(try CLI.run(["key", "verifier", "--key", setup.logKey]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), setup.logVerifier)

        let again = try CLI.run(["key", "generate", "--name", Self.origin, "--out", setup.logKey])
        XCTAssertEqual(again.exitCode, 1)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: setup.logKey, encoding: .utf8), text, "the key file is untouched")

        let json = try CLI.run(["key", "generate", "--name", "x.example/log", "--out", setup.path("x.key"), "--json"])
        let fields = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(fields["name"] as? String, "x.example/log")
        XCTAssertEqual((fields["key_id"] as? String)?.count, 8)
        XCTAssertTrue((fields["verifier_key"] as? String)?.hasPrefix("x.example/log+") == true)

        let badName = try CLI.run(["key", "generate", "--name", "has space", "--out", setup.path("y.key")])
        XCTAssertEqual(badName.exitCode, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: setup.path("y.key")))
    }

    // MARK: - Checkpoints, verify and the stand-alone verifier

    func testACheckpointVerifiesAndItsCaseProofChecksWithTheStandAloneScript() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        let note = try String(contentsOfFile: checkpoint, encoding: .utf8)
        let head = try CLI.run(["log", "--db", setup.db]).stdout.split(separator: "\n").count
        XCTAssertTrue(note.hasPrefix("\(Self.origin)\n\(head)\n"), note)
        XCTAssertTrue(note.contains("\n\n\u{2014} \(Self.origin) "), note)

        let verify = try CLI.run(["verify", "--db", setup.db, "--checkpoint", checkpoint, "--verifier-key", setup.logVerifier])
        XCTAssertEqual(verify.exitCode, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("checkpoint \(checkpoint) ok: \(Self.origin) at size \(head)"), verify.stdout)

        let list = try CLI.run(["checkpoint", "list", "--db", setup.db, "--json"])
        let held = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(held.count, 1)
        XCTAssertEqual(held.first?["tree_size"] as? Int, head)

        let proof = setup.path("case.json")
        let prove = try CLI.run(["prove", "case", "--db", setup.db, "--case", "C-2024-000003", "--checkpoint", checkpoint, "--out", proof])
        XCTAssertEqual(prove.exitCode, 0, prove.stderr)
        let checked = try python(["case", proof, "--key", setup.logVerifier])
        XCTAssertEqual(checked.exitCode, 0, checked.stderr)
        XCTAssertTrue(checked.stdout.contains("events of case C-2024-000003"), checked.stdout)
        XCTAssertTrue(checked.stdout.contains("included in \(Self.origin) at size"), checked.stdout)

        // Tampered copies of the proof are refused by the stand-alone script.
        let original = try String(contentsOfFile: proof, encoding: .utf8)
        var object = try JSONSerialization.jsonObject(with: Data(original.utf8)) as! [String: Any]
        var events = object["events"] as! [[String: Any]]
        let tampers: [(String, [String: Any])] = {
            var edited = events
            var event = edited[1]["event"] as! [String: Any]
            event["actor"] = "collector:someone.else"
            edited[1]["event"] = event
            var dropped = events
            dropped.remove(at: 1)
            var reordered = events
            reordered.swapAt(0, 1)
            var shortProof = events
            shortProof[0]["inclusion"] = Array((shortProof[0]["inclusion"] as! [String]).dropLast())
            return [("an edited event", ["events": edited]), ("a dropped event", ["events": dropped]),
                    ("reordered events", ["events": reordered]), ("a proof one hash short", ["events": shortProof]),
                    ("an edited root", ["checkpoint": note.replacingOccurrences(of: "\n\(head)\n", with: "\n\(head - 1)\n")])]
        }()
        for (what, change) in tampers {
            var copy = object
            for (key, value) in change { copy[key] = value }
            let path = setup.path("tampered.json")
            try JSONSerialization.data(withJSONObject: copy).write(to: URL(fileURLWithPath: path))
            let result = try python(["case", path, "--key", setup.logVerifier])
            XCTAssertEqual(result.exitCode, 1, "\(what) must be refused: \(result.stdout)")
        }
        events = []
        object = [:]
        let wrongKey = try CLI.run(["key", "generate", "--name", Self.origin, "--out", setup.path("other.key")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try python(["case", proof, "--key", wrongKey]).exitCode, 1, "another key of the same name")
    }

    func testInclusionAndConsistencyProofsCheckWithTheStandAloneScript() throws {
        let setup = try makeSetup()
        let first = try sign(setup, "cp1")
        let size1 = Int(try String(contentsOfFile: first, encoding: .utf8).split(separator: "\n")[1])!
        XCTAssertEqual(try append([Events.opened(caseID: "LATER"), Events.call(caseID: "LATER")], to: setup.db).exitCode, 0)
        let second = try sign(setup, "cp2")

        let inclusion = try CLI.run(["prove", "inclusion", "--db", setup.db, "--seq", "17", "--checkpoint", second])
        XCTAssertEqual(inclusion.exitCode, 0, inclusion.stderr)
        XCTAssertTrue(inclusion.stdout.hasPrefix("c2sp.org/tlog-proof@v1\nindex 16\n"), inclusion.stdout)
        let proofPath = try setup.folder.write("17.tlog-proof", inclusion.stdout)
        let event = try setup.folder.write("17.json", try CLI.run(["log", "--db", setup.db, "--from-seq", "17", "--limit", "1", "--json"]).stdout)
        let checked = try python(["inclusion", proofPath, "--event", event, "--key", setup.logVerifier])
        XCTAssertEqual(checked.exitCode, 0, checked.stderr)
        let other = try setup.folder.write("18.json", try CLI.run(["log", "--db", setup.db, "--from-seq", "18", "--limit", "1", "--json"]).stdout)
        XCTAssertEqual(try python(["inclusion", proofPath, "--event", other, "--key", setup.logVerifier]).exitCode, 1)

        let consistency = try CLI.run(["prove", "consistency", "--db", setup.db, "--from", "\(size1)", "--checkpoint", second])
        XCTAssertEqual(consistency.exitCode, 0, consistency.stderr)
        let consistencyPath = try setup.folder.write("c.proof", consistency.stdout)
        XCTAssertEqual(try python(["consistency", "--old", first, "--new", second, "--proof", consistencyPath, "--key", setup.logVerifier]).exitCode, 0)
        let short = try setup.folder.write("short.proof", consistency.stdout.split(separator: "\n").dropLast().joined(separator: "\n") + "\n")
        XCTAssertEqual(try python(["consistency", "--old", first, "--new", second, "--proof", short, "--key", setup.logVerifier]).exitCode, 1)

        let outOfRange = try CLI.run(["prove", "inclusion", "--db", setup.db, "--seq", "\(size1 + 100)", "--checkpoint", second])
        XCTAssertEqual(outOfRange.exitCode, 1)
        XCTAssertTrue(outOfRange.stderr.contains("is not in the checkpoint's tree"), outOfRange.stderr)
    }

    func testAWrongKeyAndAnEditedSizeOrRootAreRefused() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        let other = try CLI.run(["key", "generate", "--name", Self.origin, "--out", setup.path("other.key")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let wrongKey = try CLI.run(["verify", "--db", setup.db, "--checkpoint", checkpoint, "--verifier-key", other])
        XCTAssertEqual(wrongKey.exitCode, 4)
        XCTAssertTrue(wrongKey.stderr.contains("carries no signature by"), wrongKey.stderr)

        let note = try String(contentsOfFile: checkpoint, encoding: .utf8)
        let lines = note.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let editedSize = try setup.folder.write("size", ([lines[0], String(Int(lines[1])! - 1)] + lines[2...]).joined(separator: "\n"))
        let editedRoot = try setup.folder.write("root", ([lines[0], lines[1], "AAAA" + lines[2].dropFirst(4)] + lines[3...]).joined(separator: "\n"))
        for edited in [editedSize, editedRoot] {
            let result = try CLI.run(["verify", "--db", setup.db, "--checkpoint", edited, "--verifier-key", setup.logVerifier])
            XCTAssertEqual(result.exitCode, 4, result.stdout)
            XCTAssertTrue(result.stderr.contains("does not verify"), result.stderr)
            XCTAssertEqual(try python(["checkpoint", edited, "--key", setup.logVerifier]).exitCode, 1)
        }
        XCTAssertEqual(try python(["checkpoint", checkpoint, "--key", setup.logVerifier]).exitCode, 0)
    }

    /// The perfect forgery: the whole log appended again into a new file with one event moved
    /// (the 21st), each event recorded at its original recorded_at, as an insider with the
    /// library (or any tool of their own) can do.
    func forgedCopy(of db: String, at forged: String) throws {
        let log = try CLI.run(["log", "--db", db, "--json"]).stdout.split(separator: "\n").map(String.init)
        let ledger = try Ledger(path: forged, mode: .create, report: { _ in })
        _ = try ledger.appendBatch(now: Timestamp(epochMicros: 0)) { appender in
            for (n, line) in log.enumerated() {
                var event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                appender.advanceClock(to: Timestamp(rfc3339: event["recorded_at"] as! String)!)
                for key in ["seq", "version", "recorded_at", "hash"] { event.removeValue(forKey: key) }
                if n == 20 {
                    let occurred = event["occurred_at"] as! String
                    event["occurred_at"] = occurred.replacingOccurrences(of: "T1", with: "T0")
                }
                let text = String(decoding: try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
                try appender.append(EventSubmission(json: JSONParser.parse(text), now: appender.now), line: n + 1)
            }
        }
    }

    /// Everything in a forged copy agrees with itself; the checkpoint held outside does not.
    func testAWholeRewriteIsCaughtByAnEarlierCheckpoint() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        let forged = setup.path("forged.sqlite")
        try forgedCopy(of: setup.db, at: forged)
        XCTAssertEqual(try CLI.run(["verify", "--db", forged]).exitCode, 0, "the forgery agrees with itself")
        let caught = try CLI.run(["verify", "--db", forged, "--checkpoint", checkpoint, "--verifier-key", setup.logVerifier])
        XCTAssertEqual(caught.exitCode, 4)
        XCTAssertTrue(caught.stderr.contains("the log was rewritten since"), caught.stderr)
        // And a proof made from the forgery does not check against the real checkpoint.
        let prove = try CLI.run(["prove", "case", "--db", forged, "--case", "C-2024-000001", "--checkpoint", checkpoint, "--out", setup.path("p.json")])
        XCTAssertEqual(prove.exitCode, 4, prove.stderr)
    }

    /// An insider who edits rows in place and recomputes the chain still leaves the tree's tiles
    /// behind; one who also rewrites the tiles is caught by the checkpoint held outside.
    func testAnInPlaceRewriteWithTheChainRecomputedIsCaught() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        let rewrite = """
            import hashlib, json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DROP TRIGGER events_no_update")
            db.execute("UPDATE events SET actor = 'collector:someone.else' WHERE seq IN (10, 11)")
            prev = bytes(32)
            for row in db.execute("SELECT seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data FROM events ORDER BY seq").fetchall():
                seq, event_id, case_id, version, type_, schema_version, occurred_at, recorded_at, actor, data = row
                body = {"actor": actor, "case_id": case_id, "data": json.loads(data), "event_id": event_id, "occurred_at": occurred_at,
                        "recorded_at": recorded_at, "schema_version": schema_version, "seq": seq, "type": type_, "version": version}
                canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
                prev = hashlib.sha256(prev + canonical).digest()
                db.execute("UPDATE events SET hash = ? WHERE seq = ?", (prev.hex(), seq))
            db.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is not allowed'); END")
            db.commit()
            """
        let script = try setup.folder.write("rewrite.py", rewrite)
        let ran = try runTool("/usr/bin/env", ["python3", script, setup.db], in: setup.folder, timeout: 60)
        XCTAssertEqual(ran.exitCode, 0, ran.stderr)
        XCTAssertEqual(try CLI.run(["rebuild", "--db", setup.db]).exitCode, 0)
        let plain = try CLI.run(["verify", "--db", setup.db])
        XCTAssertEqual(plain.exitCode, 4)
        XCTAssertTrue(plain.stderr.contains("merkle tile 0/0 (leaves 1…16) does not match the events"), plain.stderr)
        let held = try CLI.run(["verify", "--db", setup.db, "--checkpoint", checkpoint, "--verifier-key", setup.logVerifier])
        XCTAssertEqual(held.exitCode, 4)
    }

    func testTruncationIsCaughtByAnEarlierCheckpointEvenWithEveryTraceErased() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        let head = try CLI.run(["log", "--db", setup.db]).stdout.split(separator: "\n").count
        let cut = head - 40
        try tamper(setup.db, """
            DELETE FROM events WHERE seq > \(cut);
            DELETE FROM merkle_tiles WHERE (idx + 1) * (1 << (4 * (level + 1))) > \(cut);
            DELETE FROM checkpoints;
            UPDATE projections SET checkpoint_seq = \(cut);
            """, dropping: ["events_no_delete", "merkle_tiles_no_delete", "checkpoints_no_delete"])
        XCTAssertEqual(try CLI.run(["rebuild", "--db", setup.db]).exitCode, 0)
        XCTAssertEqual(try CLI.run(["verify", "--db", setup.db]).exitCode, 0, "every trace inside the file is gone")
        let caught = try CLI.run(["verify", "--db", setup.db, "--checkpoint", checkpoint, "--verifier-key", setup.logVerifier])
        XCTAssertEqual(caught.exitCode, 4)
        XCTAssertTrue(caught.stderr.contains("is of size \(head), but the log has only \(cut) events: the log was cut"), caught.stderr)
    }

    func testAStoredTileEditedByHandIsNamed() throws {
        let setup = try makeSetup()
        try tamper(setup.db, "UPDATE merkle_tiles SET hashes = zeroblob(512) WHERE level = 0 AND idx = 3", dropping: ["merkle_tiles_no_update"])
        let result = try CLI.run(["verify", "--db", setup.db])
        XCTAssertEqual(result.exitCode, 4)
        XCTAssertTrue(result.stderr.contains("merkle tile 0/3 (leaves 49…64) does not match the events: a stored node was edited"), result.stderr)
        let signing = try CLI.run(["checkpoint", "--db", setup.db, "--key", setup.logKey])
        XCTAssertEqual(signing.exitCode, 0, "the edited tile is what the checkpoint signs; verify is what catches it")
    }

    /// A tile whose hashes are the true ones, but with a byte more or less, is as edited as any other.
    func testAStoredTileOfTheWrongLengthIsNamed() throws {
        for (edit, what) in [("hashes || x'00'", "a byte appended"), ("substr(hashes, 1, 511)", "its last byte cut")] {
            let setup = try makeSetup()
            try tamper(setup.db, "UPDATE merkle_tiles SET hashes = \(edit) WHERE level = 0 AND idx = 3", dropping: ["merkle_tiles_no_update"])
            let result = try CLI.run(["verify", "--db", setup.db])
            XCTAssertEqual(result.exitCode, 4, "\(what): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("merkle tile 0/3 (leaves 49…64) does not match the events: a stored node was edited"), "\(what): \(result.stderr)")
        }
    }

    /// A tile stored beyond what the events give, at a level the tree has or above it, is named.
    func testATileStoredBeyondTheLogIsNamed() throws {
        for (insert, named) in [("(0, 100000, zeroblob(32))", "merkle tile 0/100000 is stored, but the log's events do not reach it"),
                                ("(9, 0, zeroblob(32))", "the stored tree has tiles at level")] {
            let setup = try makeSetup()
            try tamper(setup.db, "INSERT INTO merkle_tiles (level, idx, hashes) VALUES \(insert)")
            let result = try CLI.run(["verify", "--db", setup.db])
            XCTAssertEqual(result.exitCode, 4, result.stderr)
            XCTAssertTrue(result.stderr.contains(named), "\(insert): \(result.stderr)")
        }
    }

    func testTheLedgerRefusesToSignAHeadInconsistentWithACheckpointItHolds() throws {
        let setup = try makeSetup()
        try sign(setup, "cp1")
        // A tile on the root's path (level 1 holds the roots of 256-leaf subtrees).
        try tamper(setup.db, "UPDATE merkle_tiles SET hashes = zeroblob(512) WHERE level = 1 AND idx = 0", dropping: ["merkle_tiles_no_update"])
        let result = try CLI.run(["checkpoint", "--db", setup.db, "--key", setup.logKey])
        XCTAssertEqual(result.exitCode, 4)
        XCTAssertTrue(result.stderr.contains("the log was rewritten since"), result.stderr)
    }

    // MARK: - The witness

    func testTheWitnessCosignsForwardAndRefusesRollbacksForksAndBadProofsLeavingItsStateAlone() throws {
        let setup = try makeSetup()
        let state = setup.path("witness.state")
        func cosign(_ checkpoint: String, proof: String? = nil, out: String) throws -> CLI.Result {
            try CLI.run(["witness", "cosign", "--state", state, "--key", setup.witnessKey, "--log-key", setup.logVerifier,
                         "--checkpoint", checkpoint, "--out", out] + (proof.map { ["--proof", $0] } ?? []))
        }
        let first = try sign(setup, "cp1")
        let size1 = try String(contentsOfFile: first, encoding: .utf8).split(separator: "\n")[1]
        let firstCosign = try cosign(first, out: setup.path("cp1.cosigned"))
        XCTAssertEqual(firstCosign.exitCode, 0, firstCosign.stderr)
        let cosigned = try String(contentsOfFile: setup.path("cp1.cosigned"), encoding: .utf8)
        XCTAssertTrue(cosigned.contains("\u{2014} witness.example/w1 "), cosigned)
        let verified = try CLI.run(["verify", "--db", setup.db, "--checkpoint", setup.path("cp1.cosigned"),
                                    "--verifier-key", setup.logVerifier, "--verifier-key", setup.witnessVerifier])
        XCTAssertEqual(verified.exitCode, 0, verified.stderr)
        XCTAssertTrue(verified.stdout.contains("cosigned by witness.example/w1"), verified.stdout)
        XCTAssertEqual(try python(["checkpoint", setup.path("cp1.cosigned"), "--key", setup.logVerifier, "--witness-key", setup.witnessVerifier]).exitCode, 0)

        XCTAssertEqual(try append([Events.opened(caseID: "LATER")], to: setup.db).exitCode, 0)
        let second = try sign(setup, "cp2")
        let proof = try setup.folder.write("c.proof", try CLI.run(["prove", "consistency", "--db", setup.db, "--from", String(size1), "--checkpoint", second]).stdout)
        var held = try fileBytes(state)

        let noProof = try cosign(second, out: setup.path("x"))
        XCTAssertEqual(noProof.exitCode, 4)
        XCTAssertTrue(noProof.stderr.contains("give the consistency proof"), noProof.stderr)
        XCTAssertEqual(try fileBytes(state), held)

        // A well-formed proof whose first hash is another one (SHA-256 of nothing).
        let hashes = try String(contentsOfFile: proof, encoding: .utf8).split(separator: "\n")
        let badProof = try setup.folder.write("bad.proof", (["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="] + hashes.dropFirst()).joined(separator: "\n") + "\n")
        let refusedProof = try cosign(second, proof: badProof, out: setup.path("x"))
        XCTAssertEqual(refusedProof.exitCode, 4, refusedProof.stderr)
        XCTAssertEqual(try fileBytes(state), held)

        XCTAssertEqual(try cosign(second, proof: proof, out: setup.path("cp2.cosigned")).exitCode, 0)
        held = try fileBytes(state)

        let rollback = try cosign(first, out: setup.path("x"))
        XCTAssertEqual(rollback.exitCode, 4)
        XCTAssertTrue(rollback.stderr.contains("a rollback"), rollback.stderr)
        XCTAssertEqual(try fileBytes(state), held)

        // A fork signed with the log's own key: a copy of the same size with one event changed.
        let fork = setup.path("fork.sqlite")
        try forgedCopy(of: setup.db, at: fork)
        let forked = try sign(setup, "fork.cp", db: fork)
        let refusedFork = try cosign(forked, out: setup.path("x"))
        XCTAssertEqual(refusedFork.exitCode, 4)
        XCTAssertTrue(refusedFork.stderr.contains("forked") || refusedFork.stderr.contains("does not check"), refusedFork.stderr)
        XCTAssertEqual(try fileBytes(state), held)
    }

    /// A witness's clock bounds recorded_at: events claiming to be recorded after the witness
    /// saw the checkpoint that holds them were back-dated into it.
    func testEventsRecordedAfterTheWitnessSawThemAreCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let future = ["CASELEDGER_CLOCK": "2030-01-01T00:00:00Z"]
        XCTAssertEqual(try CLI.run(["append", "--db", db], stdin: Events.opened() + "\n", environment: future).exitCode, 0)
        XCTAssertEqual(try CLI.run(["key", "generate", "--name", Self.origin, "--out", folder.path("log.key")]).exitCode, 0)
        let witness = try CLI.run(["key", "generate", "--name", "w.example", "--out", folder.path("w.key"), "--witness"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let log = try CLI.run(["key", "verifier", "--key", folder.path("log.key")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try CLI.run(["checkpoint", "--db", db, "--key", folder.path("log.key"), "--out", folder.path("cp")]).exitCode, 0)
        let cosign = try CLI.run(["witness", "cosign", "--state", folder.path("s"), "--key", folder.path("w.key"), "--log-key", log,
                                  "--checkpoint", folder.path("cp"), "--out", folder.path("cp.cosigned")], environment: ["CASELEDGER_CLOCK": "2026-06-01T00:00:00Z"])
        XCTAssertEqual(cosign.exitCode, 0, cosign.stderr)
        let result = try CLI.run(["verify", "--db", db, "--checkpoint", folder.path("cp.cosigned"), "--verifier-key", log, "--verifier-key", witness])
        XCTAssertEqual(result.exitCode, 4)
        XCTAssertTrue(result.stderr.contains("recorded_at was forged"), result.stderr)
    }

    // MARK: - Replays and evidence keep their proofs

    func testAReplayKeepsTheSourcesTreeAndCheckpointsSoItsCaseProofsCheck() throws {
        let setup = try makeSetup()
        let checkpoint = try sign(setup, "cp1")
        XCTAssertEqual(try CLI.run(["witness", "cosign", "--state", setup.path("s"), "--key", setup.witnessKey, "--log-key", setup.logVerifier,
                                    "--checkpoint", checkpoint, "--out", setup.path("cp1.cosigned")]).exitCode, 0)
        XCTAssertEqual(try CLI.run(["checkpoint", "import", "--db", setup.db, setup.path("cp1.cosigned")]).exitCode, 0)
        XCTAssertEqual(try append([Events.opened(caseID: "AFTER")], to: setup.db).exitCode, 0)

        let replay = setup.path("replay.sqlite")
        XCTAssertEqual(try CLI.run(["replay", "--db", setup.db, "--until-seq", "300", "--out", replay]).exitCode, 0)
        let verify = try CLI.run(["verify", "--db", replay, "--checkpoint", checkpoint, "--verifier-key", setup.logVerifier])
        XCTAssertEqual(verify.exitCode, 0, verify.stderr)
        let proof = setup.path("replay-case.json")
        XCTAssertEqual(try CLI.run(["prove", "case", "--db", replay, "--case", "C-2024-000002", "--checkpoint", checkpoint, "--out", proof]).exitCode, 0)
        let checked = try python(["case", proof, "--key", setup.logVerifier])
        XCTAssertEqual(checked.exitCode, 0, checked.stderr)
        let held = try CLI.run(["checkpoint", "list", "--db", replay, "--json"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(held.stdout.utf8)) as? [Any])?.count, 2)

        // --known-at names the latest cosigned checkpoint at or before T.
        let knownAt = setup.path("known.sqlite")
        let run = try CLI.run(["replay", "--db", setup.db, "--known-at", "2200-01-01T00:00:00Z", "--out", knownAt, "--json"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        let info = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let named = info["known_at_checkpoint"] as? [String: Any]
        XCTAssertEqual(named?["origin"] as? String, Self.origin)
        XCTAssertEqual(named?["kept_events_beyond_it"] as? Int, 1)
        XCTAssertEqual(try CLI.run(["verify", "--db", knownAt]).exitCode, 0)

        // A replay's kept tiles edited by hand are caught.
        try tamper(replay, "UPDATE merkle_tiles SET hashes = zeroblob(512) WHERE level = 1 AND idx = 0", dropping: ["merkle_tiles_no_update"])
        XCTAssertEqual(try CLI.run(["verify", "--db", replay]).exitCode, 4)
    }

    func testAnEvidencePackWithACheckpointCarriesAProofTheScriptChecks() throws {
        let setup = try makeSetup(cases: 60)
        let checkpoint = try sign(setup, "cp1")
        let complaints = try CLI.run(["log", "--db", setup.db, "--json"]).stdout.split(separator: "\n").filter { $0.contains("\"complaint.filed\"") }
        let filing = try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(complaints.first).utf8)) as! [String: Any]
        let complaint = (filing["data"] as! [String: Any])["complaint_id"] as! String
        let out = setup.path("pack")
        let result = try CLI.run(["evidence", "--db", setup.db, "--complaint", complaint, "--out", out, "--checkpoint", checkpoint])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let checked = try python(["case", out + "/evidence.json", "--key", setup.logVerifier])
        XCTAssertEqual(checked.exitCode, 0, checked.stderr)
        let html = try String(contentsOfFile: out + "/evidence.html", encoding: .utf8)
        XCTAssertTrue(html.contains("What this pack proves, and to whom"), "the page says what the proof shows")
        XCTAssertTrue(html.contains("does not show that no later record about this case exists"))

        let without = try CLI.run(["evidence", "--db", setup.db, "--complaint", complaint, "--out", setup.path("plain")])
        XCTAssertEqual(without.exitCode, 0)
        XCTAssertTrue(try String(contentsOfFile: setup.path("plain") + "/evidence.html", encoding: .utf8).contains("no signed checkpoint"))
    }

    /// The stand-alone verifier's own tests (vectors, brute force, every tamper) run with the suite.
    func testTheStandAloneVerifiersOwnTestsPass() throws {
        let result = try runTool("/usr/bin/env", ["python3", "-m", "unittest", "-q", Self.repository.appendingPathComponent("Tools/test_verify_proof.py").path],
                                 in: try TemporaryFolder(), timeout: 300)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
    }
}
