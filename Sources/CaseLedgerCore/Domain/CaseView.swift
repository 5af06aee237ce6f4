/// The current state of a case as users see it (docs/compliance.md), derived from `CaseState`.
///
/// The rules, first match wins for `status`:
/// - `closed`: the case has a `case.closed`;
/// - `plan_active`: the latest accepted plan was accepted after the latest escalation, and the
///   payments since its acceptance are below its `total_minor`;
/// - `escalated`: any escalation;
/// - `promised`: the latest `promise.made` is later than the latest payment, plan acceptance and escalation;
/// - otherwise `open`.
/// "Latest" and "later" go by `occurred_at`, then by `seq`; voided events never count.
extension CaseState {
    /// Appends keep every total within ±`Limits.maxMinorUnits`; the sums clamp instead of trapping
    /// all the same, so no stored state, however it was edited, can crash a reader.
    public var paidMinor: Int64 {
        records.reduce(0) { sum, record in if case .payment(let amount, _) = record.fact { sum.clampedAdding(amount) } else { sum } }
    }

    public var balanceMinor: Int64 { opening.principalMinor.clampedAdding(opening.feesMinor).clampedAdding(0 &- paidMinor) }

    public var escalation: EscalationLevel? {
        if case .escalated(let to) = latest(.caseEscalated)?.fact { return to }
        return nil
    }

    /// The latest accepted plan, with the payments made since it was accepted.
    var acceptedPlan: (acceptance: Record, plan: CaseFact.Plan, paidTowardMinor: Int64)? {
        guard let acceptance = latest(.planAccepted),
            case .planDecided(let planID, _) = acceptance.fact,
            let offer = offer(planID), case .planOffered(let plan) = offer.fact
        else { return nil }
        let paid = records.reduce(Int64(0)) { sum, record in
            if case .payment(let amount, _) = record.fact, record.occurredMicros >= acceptance.occurredMicros { sum.clampedAdding(amount) } else { sum }
        }
        return (acceptance, plan, paid)
    }

    public var status: CaseStatus {
        if isClosed { return .closed }
        let latestEscalation = latest(.caseEscalated)
        if let accepted = acceptedPlan, latestEscalation.map({ accepted.acceptance.isLater(than: $0) }) ?? true,
            accepted.paidTowardMinor < accepted.plan.totalMinor
        {
            return .planActive
        }
        if latestEscalation != nil { return .escalated }
        if let promise = latest(.promiseMade) {
            let rivals = [
                latest(.paymentReceived),
                latest(.planAccepted),
            ]
            if rivals.allSatisfy({ $0.map { promise.isLater(than: $0) } ?? true }) { return .promised }
        }
        return .open
    }

    /// The accepted plan while it is active: not closed, and paid below its total.
    public var activePlan: JSONValue {
        guard !isClosed, let accepted = acceptedPlan, accepted.paidTowardMinor < accepted.plan.totalMinor else { return .null }
        return .object(JSONObject([
            ("plan_id", .string(accepted.plan.planID)), ("kind", .string(accepted.plan.kind)),
            ("total_minor", .int(accepted.plan.totalMinor)),
            ("installments", .array(accepted.plan.installments.map {
                .object(JSONObject([("due_date", .string($0.dueDate)), ("amount_minor", .int($0.amountMinor))]))
            })),
            ("accepted_at", .string(accepted.acceptance.occurredAt)), ("paid_toward_minor", .int(accepted.paidTowardMinor)),
        ]))
    }

    /// Restrictions not lifted and not past their `until` at the case's last event.
    public var activeRestrictions: [JSONValue] {
        records.compactMap { record in
            guard case .restricted(let restriction) = record.fact else { return nil }
            if records.contains(where: { $0.fact == .restrictionLifted(restrictionID: restriction.restrictionID) }) { return nil }
            if let until = restriction.untilMicros, until <= lastEventMicros { return nil }
            return .object(JSONObject([
                ("restriction_id", .string(restriction.restrictionID)), ("kind", .string(restriction.kind.rawValue)),
                ("reason", .string(restriction.reason)), ("since", .string(record.occurredAt)),
                ("until", restriction.until.map { .string($0) } ?? .null),
            ]))
        }
    }

    public var openComplaints: [String] {
        records.compactMap { record in
            guard case .complaintFiled(let complaint) = record.fact else { return nil }
            return records.contains { $0.fact == .complaintResolved(complaintID: complaint) } ? nil : complaint
        }
    }

    /// The case as `caseledger case show --json` prints it.
    public var view: JSONValue {
        let opening = opening
        var closedReason: JSONValue = .null
        if let closure, case .closed(let reason) = closure.fact { closedReason = .string(reason) }
        var promise: JSONValue = .null
        if let latest = latest(.promiseMade), case .promise(let amount, let date) = latest.fact {
            promise = .object(JSONObject([("amount_minor", .int(amount)), ("promised_date", .string(date)), ("made_at", .string(latest.occurredAt))]))
        }
        return .object(JSONObject([
            ("case_id", .string(caseID)), ("status", .string(status.rawValue)), ("escalation", escalation.map { .string($0.rawValue) } ?? .null),
            ("currency", .string(opening.currency)), ("principal_minor", .int(opening.principalMinor)),
            ("fees_minor", .int(opening.feesMinor)), ("paid_minor", .int(paidMinor)), ("balance_minor", .int(balanceMinor)),
            ("version", .int(Int64(version))), ("last_seq", .int(lastSeq)),
            ("opened_at", .string(openedAt)), ("last_event_at", .string(lastEventAt)),
            ("active_plan", activePlan), ("restrictions", .array(activeRestrictions)),
            ("open_complaints", .array(openComplaints.map { .string($0) })),
            ("contacts", .object(JSONObject([("calls", .int(Int64(calls))), ("messages", .int(Int64(messages))), ("visits", .int(Int64(visits)))]))),
            ("latest_promise", promise), ("closed_reason", closedReason),
            ("product", .string(opening.product)), ("region", opening.region.map { .string($0) } ?? .null),
            ("debtor_ref", .string(opening.debtorRef)), ("account_ref", .string(opening.accountRef)),
            ("branch", opening.branch.map { .string($0) } ?? .null),
            ("debtor_timezone", .string(opening.debtorTimeZone)),
        ]))
    }
}

// MARK: - Stored form (the case_state projection's `state` column)

extension CaseState {
    /// Deterministic JSON: the same state always gives the same bytes, so `verify` can compare.
    public var storedJSON: [UInt8] {
        var text = TextBuffer()
        writeStoredJSON(into: &text)
        return text.withBytes { Array($0) }
    }

    /// Writes `storedJSON` over what `out` held, at a pointer (`JSONTextWriter`): a rebuild
    /// writes every case's state, and appending its pieces to an array one by one (some 25
    /// appends a record) took a tenth of a rebuild's folding thread (BENCHMARKS.md).
    public func writeStoredJSON(into out: inout TextBuffer) {
        // Room for the members' names and punctuation (125 bytes, and 67 a record), the
        // integers, and every string at its worst (each byte escaped).
        var room = 160 + 6 * JSONTextWriter.integerRoom + JSONTextWriter.stringRoom(caseID.utf8.count + lastEventAt.utf8.count)
        for id in voided { room += 1 + JSONTextWriter.stringRoom(id.utf8.count) }
        for record in records {
            room += 96 + 2 * JSONTextWriter.integerRoom + record.data.utf8.count
                + JSONTextWriter.stringRoom(CompactUUID.textLength + record.type.rawValue.utf8.count + record.occurredAt.utf8.count)
        }
        out.write(room: room) { out in
            out.literal(#"{"case_id":"#)
            caseID.writeJSONString(into: &out)
            out.literal(#","version":"#)
            out.integer(Int64(version))
            out.literal(#","last_seq":"#)
            out.integer(lastSeq)
            out.literal(#","last_event_us":"#)
            out.integer(lastEventMicros)
            out.literal(#","calls":"#)
            out.integer(Int64(calls))
            out.literal(#","messages":"#)
            out.integer(Int64(messages))
            out.literal(#","visits":"#)
            out.integer(Int64(visits))
            out.literal(#","last_event_at":"#)
            lastEventAt.writeJSONString(into: &out)
            out.literal(#","voided":["#)
            for (i, id) in voided.enumerated() {
                if i > 0 { out.byte(UInt8(ascii: ",")) }
                id.writeJSONString(into: &out)
            }
            out.literal(#"],"records":["#)
            for index in records.indices {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                out.literal(#"{"event_id":"#)
                out.string(records[index].id)
                out.literal(#","seq":"#)
                out.integer(records[index].seq)
                out.literal(#","type":"#)
                records[index].type.rawValue.writeJSONString(into: &out)
                out.literal(#","occurred_at":"#)
                records[index].occurredAt.writeJSONString(into: &out)
                out.literal(#","occurred_us":"#)
                out.integer(records[index].occurredMicros)
                out.literal(#","data":"#)
                var data = records[index].data
                data.withUTF8 { out.bytes($0) }
                out.byte(UInt8(ascii: "}"))
            }
            out.literal("]}")
        }
    }

    /// Reads a state written by `storedJSON`; nil when it is not one.
    ///
    /// A state as `storedJSON` wrote it is read in place, its records' `data` checked as canonical
    /// and their facts read without a tree (an append reads a state back each time a case returns
    /// to a batch's cache). Anything else (an older layout, an escaped string, a file edited by
    /// hand) is parsed as JSON.
    public init?(storedJSON text: String) {
        var text = text
        if let state = text.withUTF8({ bytes in
            var reader = StoredStateReader(bytes: bytes)
            return reader.state()
        }) {
            self = state
        } else {
            self.init(parsingStoredJSON: text)
        }
    }

    private init?(parsingStoredJSON text: String) {
        guard let json = try? JSONParser.parse(text), let caseID = json["case_id"]?.stringValue,
            let version = json["version"]?.intValue, let lastSeq = json["last_seq"]?.intValue,
            let lastEventAt = json["last_event_at"]?.stringValue, let lastEventMicros = json["last_event_us"]?.intValue
        else { return nil }
        var records: [Record] = []
        for item in json["records"]?.arrayValue ?? [] {
            // An id read as the fast reader reads it: one that is not a UUID makes the state unreadable,
            // rather than some other id (`CompactUUID(_:)` skips what is not a hex digit).
            guard let id = item["event_id"]?.stringValue.flatMap(CompactUUID.init(canonical:)), let seq = item["seq"]?.intValue,
                let type = item["type"]?.stringValue.flatMap(EventType.init(rawValue:)),
                let occurredAt = item["occurred_at"]?.stringValue, let micros = item["occurred_us"]?.intValue,
                case .object(let data) = item["data"]
            else { return nil }
            records.append(Record(id: id, seq: seq, type: type, occurredAt: occurredAt, occurredMicros: micros,
                                  data: CanonicalJSON.string(.object(data)), fact: CaseFact(type: type, data: data)))
        }
        guard case .opened = records.first?.fact else { return nil }
        self.init(caseID: caseID, version: Int(version), lastSeq: lastSeq, lastEventAt: lastEventAt,
                  lastEventMicros: lastEventMicros, calls: Int(json["calls"]?.intValue ?? 0),
                  messages: Int(json["messages"]?.intValue ?? 0), visits: Int(json["visits"]?.intValue ?? 0),
                  voided: (json["voided"]?.arrayValue ?? []).compactMap(\.stringValue), records: records,
                  isClosed: records.contains { if case .closed = $0.fact { true } else { false } },
                  openedAtMicros: records[0].occurredMicros)
    }
}

/// Reads the exact layout `CaseState.storedJSON` writes, member by member, without a tree: nil at
/// the first byte that differs from it (the caller then parses the text as JSON).
private struct StoredStateReader {
    let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// One room for the members of every record's `data`, read one after another.
    private var room = CanonicalObject.MemberRoom()

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func state() -> CaseState? {
        guard expect(#"{"case_id":"#), let caseID = string(),
            expect(#","version":"#), let version = integer(), expect(#","last_seq":"#), let lastSeq = integer(),
            expect(#","last_event_us":"#), let lastEventMicros = integer(),
            expect(#","calls":"#), let calls = integer(), expect(#","messages":"#), let messages = integer(),
            expect(#","visits":"#), let visits = integer(),
            expect(#","last_event_at":"#), let lastEventAt = string(),
            expect(#","voided":"#), let voided = list({ $0.string() }),
            expect(#","records":"#), let records = list({ $0.record() }),
            expect("}"), index == bytes.count, case .opened = records.first?.fact
        else { return nil }
        return CaseState(caseID: caseID, version: Int(version), lastSeq: lastSeq, lastEventAt: lastEventAt,
                         lastEventMicros: lastEventMicros, calls: Int(calls), messages: Int(messages), visits: Int(visits),
                         voided: voided, records: records,
                         isClosed: records.contains { if case .closed = $0.fact { true } else { false } },
                         openedAtMicros: records[0].occurredMicros)
    }

    private mutating func record() -> CaseState.Record? {
        guard expect(#"{"event_id":"#), let id = stringBytes().flatMap(CompactUUID.init(canonical:)), expect(#","seq":"#), let seq = integer(),
            expect(#","type":"#), let type = stringBytes().flatMap(EventType.init(utf8:)),
            expect(#","occurred_at":"#), let occurredAt = string(),
            expect(#","occurred_us":"#), let micros = integer(), expect(#","data":"#),
            let (data, length) = CanonicalObject.leading(UnsafeBufferPointer(rebasing: bytes[index...]), room: &room)
        else { return nil }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]), as: UTF8.self)
        index += length
        guard expect("}") else { return nil }
        return CaseState.Record(id: id, seq: seq, type: type, occurredAt: occurredAt, occurredMicros: micros,
                                data: text, fact: CaseFact(type: type, canonical: data))
    }

    /// A JSON array, each element read by `element`.
    private mutating func list<Element>(_ element: (inout StoredStateReader) -> Element?) -> [Element]? {
        guard expect("[") else { return nil }
        var elements: [Element] = []
        if expect("]") { return elements }
        repeat {
            guard let next = element(&self) else { return nil }
            elements.append(next)
        } while expect(",")
        return expect("]") ? elements : nil
    }

    /// Steps over `literal` when the bytes at `index` are it.
    private mutating func expect(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count,
            CanonicalJSON.sameBytes(bytes, at: index, as: UnsafeBufferPointer(start: literal.utf8Start, count: count))
        else { return false }
        index += count
        return true
    }

    /// A string of printable ASCII without escapes (every string of the layout but `data`'s, which
    /// `CanonicalObject` reads); nil for any other, which the JSON parser then reads.
    private mutating func string() -> String? {
        stringBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// `string`'s bytes between the quotes, read in place.
    private mutating func stringBytes() -> UnsafeBufferPointer<UInt8>? {
        guard expect("\"") else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// An integer as `CanonicalJSON.writeInteger` writes it, within ±(2^53 − 1).
    private mutating func integer() -> Int64? {
        let negative = expect("-")
        let start = index
        var magnitude: Int64 = 0
        while index < bytes.count, index - start < 16, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > start, magnitude <= JSONParser.maxSafeInteger,
            index == bytes.count || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]),
            bytes[start] != UInt8(ascii: "0") || (index - start == 1 && !negative)
        else { return nil }
        return negative ? -magnitude : magnitude
    }
}

extension Int64 {
    /// `self + other`, held at `Int64.min` or `Int64.max` instead of trapping.
    func clampedAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}
