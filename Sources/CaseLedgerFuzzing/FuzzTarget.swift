import CaseLedgerCore

/// One fuzz input run through everything an append does before SQLite, with the invariants
/// asserted: NDJSON lines are parsed and checked (envelope, schema, ranges); the accepted ones go
/// through the append rules and the case fold; after each, the case view is computed, its stored
/// form must read back to the same state, and its contacts are judged by the shipped rulebooks.
/// Any trap here (an overflow, a failed invariant) is a crash libFuzzer reports.
///
/// `Tools/fuzz` drives it with libFuzzer; `swift test` runs every committed regression input
/// (`Tests/CaseLedgerTests/Fixtures/fuzz/`) through it.
///
/// ```swift
/// bytes.withUnsafeBytes { FuzzTarget.run($0) }
/// ```
public enum FuzzTarget {
    /// The ledger clock for fuzzing: the end of the ledger's range, so any accepted date is in the past.
    static let clock = Timestamp(rfc3339: "2200-12-31T23:59:59Z")!

    public static func run(_ input: UnsafeRawBufferPointer) {
        var fold = Fold()
        var start = 0
        var line = 0
        let bytes = input.bindMemory(to: UInt8.self)
        while start <= bytes.count, line < 2_000 {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            line += 1
            if end > start {
                let text = UnsafeBufferPointer(rebasing: bytes[start..<end])
                checkCanonicalAgrees(text)
                if let event = try? SubmissionPipeline.checkedEvent(line: line, bytes: text, now: clock) {
                    fold.append(event)
                }
            }
            start = end + 1
        }
        fold.judgeAll()
    }

    /// `verify` trusts `CanonicalJSON.isCanonical` where it would otherwise parse and write
    /// canonically: the two must give the same answer on every line, and on the canonical form of
    /// every line that parses.
    static func checkCanonicalAgrees(_ line: UnsafeBufferPointer<UInt8>) {
        let parsed = try? JSONParser.parse(bytes: line)
        let canonical = parsed.map(CanonicalJSON.bytes)
        precondition(CanonicalJSON.isCanonical(line) == (canonical.map { $0.elementsEqual(line) } ?? false),
                     "isCanonical disagrees with parse + canonical write")
        if let canonical { precondition(canonical.withUnsafeBufferPointer(CanonicalJSON.isCanonical), "a canonical form is not canonical") }
    }

    /// The append rules and the case fold, in memory, as `BatchAppender` applies them.
    struct Fold {
        var seq: Int64 = 0
        var states: [String: CaseState] = [:]
        var compliance: [String: ComplianceCase] = [:]
        var known: [String: VoidTarget] = [:]

        mutating func append(_ submission: EventSubmission) {
            guard known[submission.eventID] == nil else { return }  // a repeat: the store makes it a no-op
            let event = submission.caseEvent(seq: seq + 1)
            let data = String(decoding: submission.canonicalData, as: UTF8.self)
            var target: VoidTarget?
            if case .voided(let id) = event.fact { target = known[id] }
            if var state = states[event.caseID] {
                do throws(FieldError) { try state.check(event, target: target) } catch { return }
                state.apply(event, data: data, target: target)
                states[event.caseID] = state
                let voidReason = Self.reason(data)
                compliance[event.caseID]?.add(event, voidReason: voidReason)
                check(state)
            } else {
                guard let state = try? CaseState.opening(event, data: data) else { return }
                states[event.caseID] = state
                compliance[event.caseID] = ComplianceCase(opening: event)
                check(state)
            }
            seq += 1
            known[submission.eventID] = VoidTarget(eventID: submission.eventID, caseID: event.caseID, type: event.type, fact: event.fact)
        }

        /// The invariants every accepted event must keep.
        func check(_ state: CaseState) {
            _ = CanonicalJSON.bytes(state.view)
            let stored = String(decoding: state.storedJSON, as: UTF8.self)
            guard let readBack = CaseState(storedJSON: stored) else {
                fatalError("the stored state of case \(state.caseID) does not read back: \(stored.prefix(300))")
            }
            precondition(readBack == state, "the stored state of case \(state.caseID) reads back different")
            precondition(abs(state.paidMinor) <= Limits.maxMinorUnits && abs(state.balanceMinor) <= Limits.maxMinorUnits,
                         "case \(state.caseID) keeps a total beyond ±\(Limits.maxMinorUnits)")
        }

        static func reason(_ data: String) -> String {
            (try? JSONParser.parse(data))?["reason"]?.stringValue ?? ""
        }

        func judgeAll() {
            for record in compliance.values {
                let outcome = ContactRules.judge(record, by: .inForce(.shipped))
                for violation in outcome.violations { _ = CanonicalJSON.bytes(violation.json) }
            }
        }
    }
}
