import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird

/// Complaints, their evidence packs, the newest checkpoint, and case proofs against it.
enum EvidenceRoutes {
    /// `?status=open|resolved&category=&region=&case=&limit=` as `complaint list --json`.
    static func complaints(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let complaintQuery = ComplaintQuery(status: try query.choice("status", ComplaintQuery.Status.self), category: query.string("category"),
                                            region: query.string("region"), caseID: query.string("case"), from: try query.timeBound("from"),
                                            to: try query.timeBound("to"), limit: Int(try query.int("limit", in: 1...Int64(state.settings.maxPage)) ?? 1000),
                                            scope: context.scope)
        let ledger = state.ledger
        let found = try await Blocking.run { try ledger.complaintList(complaintQuery) }
        context.returned.note(found.map(\.caseID))
        let now = LedgerClock.now()
        return Reply.json(.array(found.map { $0.json(now: now) }))
    }

    /// The evidence pack as `evidence --json` writes it; the HTML page for `Accept: text/html`.
    /// `?case=ID` picks the case when a complaint id was filed on several; `?proof=true` adds
    /// the case's inclusion proofs against the newest checkpoint.
    static func evidence(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let complaintID = try context.pathParameter("id")
        let query = Query(request)
        let caseID = query.string("case")
        let withProof = try query.bool("proof") ?? false
        let (ledger, scope) = (state.ledger, context.scope)
        let pack = try await Blocking.run { () -> JSONValue in
            let note = withProof ? try latest(ledger).note.noteText : nil
            // The pack names its ledger by file name: a client learns nothing of the server's folders.
            return try ledger.evidence(complaint: complaintID, caseID: caseID, checkpointNote: note, scope: scope,
                                       ledgerLabel: URL(fileURLWithPath: ledger.path).lastPathComponent)
        }
        if let id = pack["complaint"]?["filing"]?["case_id"]?.stringValue { context.returned.note(id) }
        if prefersHTML(request) {
            return Reply.text(EvidenceHTML.render(pack), type: "text/html; charset=utf-8")
        }
        return Reply.json(pack)
    }

    /// The newest checkpoint note (text, as C2SP serves them); its summary as JSON for `Accept: application/json`.
    static func latestCheckpoint(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        let held = try await Blocking.run { try latest(ledger) }
        if let accept = request.headers[.accept], accept.contains("application/json"), !accept.contains("text/plain") {
            return Reply.json(held.json)
        }
        return Reply.text(held.note.noteText)
    }

    /// Every event of the case in the newest checkpoint's tree, each with its inclusion proof (`prove case`).
    static func caseProof(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let id = try context.pathParameter("id")
        let (ledger, scope) = (state.ledger, context.scope)
        let proof = try await Blocking.run { () -> JSONValue in
            guard try ledger.isVisible(caseID: id, scope: scope) else { throw APIError.notFound("no case \(JSONText.shown(id))") }
            return try ledger.caseProof(caseID: id, checkpointNote: try latest(ledger).note.noteText, scope: scope)
        }
        context.returned.note(id)
        return Reply.json(proof)
    }

    static func latest(_ ledger: Ledger) throws -> StoredCheckpoint {
        guard let newest = try ledger.checkpoints().last else {
            throw APIError.notFound("no checkpoint has been signed yet (caseledger checkpoint sign, or serve --checkpoint-key)")
        }
        return newest
    }

    static func prefersHTML(_ request: Request) -> Bool {
        guard let accept = request.headers[.accept] else { return false }
        return accept.contains("text/html") && !accept.hasPrefix("application/json")
    }
}
