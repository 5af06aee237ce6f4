import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird

/// The auditor's pages: integrity (verify on demand, the checkpoints held) and the access log.
enum ConsoleAudit {
    struct IntegrityPage {
        let layout: Console.Layout
        let last: Last?
        let checkpoints: [CheckpointRow]
    }

    struct Last {
        let at: String
        let took: String
        let outcome: Shown
        let outcomeClass: String
    }

    struct CheckpointRow {
        let id: Int64
        let origin: Shown
        let size: Int64
        let root: String
        let signers: Shown
        let cosigners: Shown
        let stored: Shown
    }

    static func integrity(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        let held = try await Blocking.run { try ledger.checkpoints() }
        let last = state.lastVerification.withLock { $0 }.map { last in
            Last(at: last.at, took: String(format: "%.1f s", last.seconds), outcome: Shown(last.outcome), outcomeClass: last.ok ? "ok" : "failed")
        }
        let rows = held.reversed().map { checkpoint in
            CheckpointRow(id: checkpoint.id, origin: Shown(checkpoint.checkpoint.origin), size: checkpoint.checkpoint.size,
                          root: Base64.encode(checkpoint.checkpoint.root),
                          signers: Shown(checkpoint.signers.map { "\($0.name) (\($0.keyID))" }.joined(separator: ", ")),
                          cosigners: Shown(checkpoint.note.claimedCosignatures.map {
                              "\($0.name) at \(Timestamp(epochMicros: $0.time * 1_000_000).utcString)"
                          }.joined(separator: ", ")),
                          stored: Shown(checkpoint.storedAt))
        }
        return Console.page("integrity", IntegrityPage(layout: Console.Layout("Integrity", context), last: last, checkpoints: rows))
    }

    /// Runs `verify` (the whole chain, tree and projections) and shows the outcome on the integrity page.
    static func verify(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        let started = ContinuousClock.now
        let (outcome, ok) = try await Blocking.run { () -> (String, Bool) in
            do {
                let report = try ledger.verify()
                return ("ok: \(report.events) events, head \(report.headHash); Merkle tree of \(report.treeSize) leaves, root \(Base64.encode(report.treeRoot)); "
                        + "projections \(report.projectionsCompared.joined(separator: ", ")) equal a fresh rebuild", true)
            } catch LedgerError.verificationFailed(let seq, let reason) {
                return ("FAILED" + (seq.map { " at seq \($0)" } ?? "") + ": " + reason, false)
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.lastVerification.withLock { $0 = (LedgerClock.now().utcString, seconds, outcome, ok) }
        return Console.redirect("/integrity")
    }

    // MARK: - Access log

    struct AccessPage {
        let layout: Console.Layout
        let token: Shown
        let caseID: Shown
        let since: Shown
        let problem: Shown?
        let rows: [Row]
    }

    struct Row {
        let at: String
        let token: Shown
        let role: String
        let method: String
        let path: Shown
        let status: String
        let cases: Shown
    }

    static func accessLog(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let q = Query(request)
        let token = q.string("token").flatMap { $0.isEmpty ? nil : $0 }
        let caseID = q.string("case").flatMap { $0.isEmpty ? nil : $0 }
        let sinceText = q.time("since").flatMap { $0.isEmpty ? nil : $0 }
        var problem: String?
        var since: String?
        if let sinceText {
            if let time = Timestamp(rfc3339: sinceText) { since = time.utcString } else { problem = "since: an RFC 3339 time, e.g. 2026-12-01T00:00:00Z" }
        }
        var query = Ledger.AccessQuery(since: since, token: token, caseID: caseID, limit: 500)
        query.newestFirst = true
        let (ledger, chosen) = (state.ledger, query)
        let entries = try await Blocking.run { try ledger.accessLog(chosen) }
        let rows = entries.map { entry in
            Row(at: entry.at, token: Shown(entry.tokenName), role: entry.role, method: entry.method, path: Shown(entry.path),
                status: entry.status == 0 ? "—" : String(entry.status),
                cases: Shown(entry.caseIDs.prefix(8).joined(separator: ", ") + (entry.caseIDs.count > 8 ? " … (\(entry.caseIDs.count))" : "")))
        }
        return Console.page("accessLog", AccessPage(layout: Console.Layout("Access log", context), token: Shown(token ?? ""), caseID: Shown(caseID ?? ""),
                                                    since: Shown(sinceText ?? ""), problem: problem.map { Shown($0) }, rows: rows))
    }
}
