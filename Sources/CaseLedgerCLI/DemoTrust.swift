import CaseLedgerCore
import CaseLedgerStore
import Foundation

/// The demo's last stop: evidence a regulator can check without trusting the bank. A checkpoint
/// signed with the log's key, cosigned by a witness, a case proven against it and checked by the
/// stand-alone verifier, and a forged copy of the ledger caught by the checkpoint.
enum DemoTrust {
    static func run(ledger: Ledger, path: String, folder: URL, featured: String, complaint: (complaintID: String, caseID: String, seq: Int64)?) throws {
        func file(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let logKey = try NoteSigningKey.generate(name: "ledger.bank.example/collections")
        let witnessKey = try NoteSigningKey.generate(name: "witness.regulator.example/w1", type: .cosignature)
        try AtomicFile.write(Array(logKey.fileText.utf8), to: file("log.key"), mode: 0o600)
        try AtomicFile.write(Array((logKey.verifier.text + "\n").utf8), to: file("log.vkey"))
        try AtomicFile.write(Array((witnessKey.verifier.text + "\n").utf8), to: file("witness.vkey"))

        let signed = try ledger.signCheckpoint(keys: [logKey])
        var witness = WitnessState()
        let cosigned = try witness.cosign(noteText: signed.note.noteText, logKeys: [logKey.verifier], proof: [], key: witnessKey,
                                          time: LedgerClock.now().epochMicros / 1_000_000)
        try AtomicFile.write(Array(cosigned.noteText.utf8), to: file("checkpoint.cosigned"))
        _ = try ledger.importCheckpoint(noteText: cosigned.noteText)
        print("11. Evidence that does not depend on trusting the bank (caseledger checkpoint, witness cosign):")
        print("   the log's Merkle tree head, signed by \(logKey.name) (key \(Hex.string(logKey.verifier.keyID))):")
        for line in signed.note.text.split(separator: "\n") { print("     \(line)") }
        print("   cosigned by the witness \(witnessKey.name), who keeps its own record of the size and root")

        let proofPath = file("case-\(featured).proof.json")
        let proof = try ledger.caseProof(caseID: featured, checkpointNote: cosigned.noteText)
        try AtomicFile.write(CanonicalJSON.bytes(proof) + [0x0A], to: proofPath)
        print("   caseledger prove case --case \(featured): \(proof["events"]?.arrayValue?.count ?? 0) events, each with its inclusion proof")
        if let complaint {
            let pack = try ledger.evidence(complaint: complaint.complaintID, caseID: complaint.caseID, checkpointNote: cosigned.noteText)
            _ = try Evidence.write(pack, into: file("evidence-\(complaint.complaintID)-proven"))
            print("   evidence pack with the same proof (--checkpoint): \(file("evidence-\(complaint.complaintID)-proven"))/evidence.html")
        }
        standAloneCheck(proofPath, logKey: file("log.vkey"), witnessKey: file("witness.vkey"))

        try forgedCopyIsCaught(ledger: ledger, at: file("forged.sqlite"), checkpoint: cosigned.noteText,
                               keys: [logKey.verifier, witnessKey.verifier])
        print()
    }

    /// Runs `Tools/verify_proof.py` (Python's standard library and `cryptography`) when it is at hand.
    static func standAloneCheck(_ proofPath: String, logKey: String, witnessKey: String) {
        let script = "Tools/verify_proof.py"
        let command = "python3 \(script) case \(proofPath) --key @\(logKey) --witness-key @\(witnessKey)"
        guard FileManager.default.fileExists(atPath: script) else {
            print("   check it yourself, from a clone of this repository: \(command)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "case", proofPath, "--key", "@" + logKey, "--witness-key", "@" + witnessKey]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        do {
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            print("   the stand-alone verifier (\(command)) says, exit \(process.terminationStatus):")
            for line in text.split(separator: "\n") { print("     \(line)") }
        } catch {
            print("   could not run python3 (\(error.localizedDescription)); check it yourself: \(command)")
        }
    }

    /// The perfect forgery: the whole log appended again into a new file, one call moved three
    /// hours earlier, each event recorded at its original recorded_at. The copy checks itself
    /// fine; the checkpoint held outside catches it.
    static func forgedCopyIsCaught(ledger: Ledger, at forgedPath: String, checkpoint: String, keys: [NoteVerifier]) throws {
        let late = try ledger.compliance().violations.first { $0.rule == .contactHours && $0.localTime.contains("T2") }
        let forged = try Ledger(path: forgedPath, mode: .create, report: { _ in })
        _ = try forged.appendBatch(now: Timestamp(epochMicros: 0)) { appender in
            var line = 0
            try ledger.forEachEvent { event in
                line += 1
                appender.advanceClock(to: Timestamp(rfc3339: event.recordedAt)!)
                var text = Demo.resubmission(of: event)
                if event.eventID == late?.eventID, let moved = moveEarlier(event.occurredAt) {
                    text = text.replacingOccurrences(of: "\"occurred_at\":\"\(event.occurredAt)\"", with: "\"occurred_at\":\"\(moved)\"")
                }
                try appender.append(EventSubmission(json: JSONParser.parse(text), now: appender.now), line: line)
            }
        }
        let own = try forged.verify()
        print("   a forged copy (\(late.map { "the \($0.localTime) call moved three hours earlier" } ?? "the log re-appended"), recorded_at kept):")
        print("     its own verify: ok, \(own.events) events, chain and tree consistent with themselves")
        do {
            _ = try forged.verify(checkpoints: [GivenCheckpoint(label: "checkpoint.cosigned", noteText: checkpoint)], keys: keys)
            print("     verify --checkpoint: passed (the forgery changed nothing the checkpoint covers)")
        } catch let error as LedgerError {
            print("     verify --checkpoint checkpoint.cosigned: caught, exit \(error.exitCode): \(error.description)")
        }
    }

    /// The same instant three hours earlier, in the same offset.
    static func moveEarlier(_ occurredAt: String) -> String? {
        guard let time = Timestamp(rfc3339: occurredAt) else { return nil }
        return time.adding(seconds: -3 * 3600).string(offsetMinutes: time.offsetMinutes)
    }
}
