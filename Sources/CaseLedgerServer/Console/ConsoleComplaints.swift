import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird

/// The complaints list, a complaint's page, and its evidence pack to download.
enum ConsoleComplaints {
    struct ListPage {
        let layout: Console.Layout
        let statuses: [Console.Option]
        let rows: [Row]
    }

    struct Row {
        let id: Shown
        let link: String
        let caseID: Shown
        let caseLink: String
        let category: Shown
        let channel: Shown
        let filed: Shown
        let status: String
        let age: Int
    }

    static func list(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let status = try Query(request).choice("status", ComplaintQuery.Status.self, emptyIsNil: true)
        let query = ComplaintQuery(status: status, limit: 500, scope: context.scope)
        let ledger = state.ledger
        let found = try await Blocking.run { try ledger.complaintList(query) }
        context.returned.note(found.map(\.caseID))
        let now = LedgerClock.now()
        let rows = found.map { complaint in
            Row(id: Shown(complaint.complaintID), link: link(complaint.complaintID, caseID: complaint.caseID), caseID: Shown(complaint.caseID),
                caseLink: Console.caseLink(complaint.caseID), category: Shown(complaint.category), channel: Shown(complaint.channel),
                filed: Shown(LocalClock.readable(complaint.filedLocal)), status: complaint.status, age: complaint.ageDays(now: now))
        }
        return Console.page("complaints", ListPage(layout: Console.Layout("Complaints", context),
                                                    statuses: Console.options(ComplaintQuery.Status.allCases.map(\.rawValue), selected: status?.rawValue),
                                                    rows: rows))
    }

    static func link(_ complaintID: String, caseID: String) -> String {
        "/complaints/\(Console.pathSegment(complaintID))?case=\(Console.queryValue(caseID))"
    }

    // MARK: - A complaint

    struct ComplaintPage {
        let layout: Console.Layout
        let id: Shown
        let caseID: Shown
        let caseLink: String
        let filed: Shown
        let filedBy: Shown
        let channel: Shown
        let category: Shown
        let period: Shown
        let status: Shown
        let description: Shown
        let asOf: Snapshot
        let now: Snapshot
        let periodNote: String
        let violations: [Breach]
        let packJSON: String
        let packHTML: String
        let proof: Bool
        let proofJSON: String
        let treeSize: Int64
    }

    struct Snapshot {
        let status: String
        let balance: String
    }

    struct Breach {
        let local: Shown
        let link: String
        let actor: Shown
        let rule: String
        let rulebook: Shown
        let detail: Shown
    }

    static func pack(_ request: Request, _ context: LedgerContext, _ state: ServerState, checkChain: Bool, proof: Bool) async throws -> JSONValue {
        let complaintID = try context.pathParameter("id")
        let caseID = Query(request).string("case")
        let (ledger, scope) = (state.ledger, context.scope)
        let pack = try await Blocking.run { () -> JSONValue in
            let note = proof ? try EvidenceRoutes.latest(ledger).note.noteText : nil
            return try ledger.evidence(complaint: complaintID, caseID: caseID, checkpointNote: note, scope: scope,
                                       ledgerLabel: URL(fileURLWithPath: ledger.path).lastPathComponent, checkChain: checkChain)
        }
        if let id = pack["complaint"]?["filing"]?["case_id"]?.stringValue { context.returned.note(id) }
        return pack
    }

    static func show(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let complaintID = try context.pathParameter("id")
        let pack = try await pack(request, context, state, checkChain: false, proof: false)
        let ledger = state.ledger
        let newest = try await Blocking.run { try ledger.checkpoints().last }
        let filing = pack["complaint"]?["filing"]
        let data = filing?["data"]
        let caseID = filing?["case_id"]?.stringValue ?? ""
        let currency = pack["case"]?["now"]?["currency"]?.stringValue ?? ""
        func snapshot(_ view: JSONValue?) -> Snapshot {
            Snapshot(status: view?["status"]?.stringValue ?? "—", balance: Console.money(view?["balance_minor"]?.intValue, currency))
        }
        let from = data?["period_from"]?.stringValue
        let to = data?["period_to"]?.stringValue
        // The period as the debtor gave it: dates compared with the contact's debtor-local date.
        let violations = (pack["violations"]?.arrayValue ?? []).filter { violation in
            let day = String((violation["local_time"]?.stringValue ?? "").prefix(10))
            return (from.map { day >= String($0.prefix(10)) } ?? true) && (to.map { day <= String($0.prefix(10)) } ?? true)
        }.map { violation in
            Breach(local: Shown(LocalClock.readable(violation["local_time"]?.stringValue ?? "")),
                   link: Console.caseLink(caseID) + "#seq-\(violation["seq"]?.intValue ?? 0)",
                   actor: Shown(violation["actor"]?.stringValue), rule: violation["rule"]?.stringValue ?? "?",
                   rulebook: Shown(violation["rulebook"]?.stringValue), detail: Shown(violation["detail"]?.stringValue))
        }
        let query = "?case=\(Console.queryValue(caseID))"
        let base = "/complaints/\(Console.pathSegment(complaintID))"
        return Console.page("complaint", ComplaintPage(
            layout: Console.Layout("Complaint \(complaintID)", context), id: Shown(complaintID), caseID: Shown(caseID), caseLink: Console.caseLink(caseID),
            filed: Shown(LocalClock.readable(LocalClock.rewrite(filing?["occurred_at"]?.stringValue ?? "", zone: pack["case"]?["now"]?["debtor_timezone"]?.stringValue ?? "UTC"))),
            filedBy: Shown(filing?["actor"]?.stringValue), channel: Shown(data?["channel"]?.stringValue), category: Shown(data?["category"]?.stringValue),
            period: Shown(from == nil && to == nil ? "not given" : "\(from ?? "…") to \(to ?? "…")"),
            status: Shown(pack["complaint"]?["resolution"].flatMap { $0 == .null ? nil : "resolved: " + ($0["data"]?["finding"]?.stringValue ?? "") } ?? "open"),
            description: Shown(data?["description"]?.stringValue),
            asOf: snapshot(pack["case"]?["as_of_filing"]), now: snapshot(pack["case"]?["now"]),
            periodNote: from == nil && to == nil ? "on the case" : "in the period complained of", violations: violations,
            packJSON: base + "/evidence.json" + query, packHTML: base + "/evidence.html" + query, proof: newest != nil,
            proofJSON: base + "/evidence.json" + query + "&proof=true", treeSize: newest?.checkpoint.size ?? 0))
    }

    static func packJSON(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let proof = (try Query(request).bool("proof")) ?? false
        let pack = try await pack(request, context, state, checkChain: true, proof: proof)
        var response = Reply.json(pack)
        let name = "evidence-" + (try context.pathParameter("id")).filter { $0.isLetter || $0.isNumber || "-_.".contains($0) } + (proof ? "-proven" : "")
        response.headers[.contentDisposition] = "attachment; filename=\"\(name).json\""
        return response
    }

    /// The printable page, as `caseledger evidence` writes it: a document of its own, its
    /// stylesheet inside it, no script (its policy allows that stylesheet and nothing else).
    static func packHTML(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let pack = try await pack(request, context, state, checkChain: true, proof: false)
        var response = Reply.text(EvidenceHTML.render(pack), type: "text/html; charset=utf-8")
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
        return response
    }
}
