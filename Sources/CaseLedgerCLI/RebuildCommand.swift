import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild every projection from the log now: drop, replay, new checkpoint.",
        discussion: "Projections are rebuilt automatically when their code version changes; this forces it.")

    @OptionGroup var options: LedgerOptions

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .readWrite)
        let started = Date()
        let events = try ledger.rebuildProjections()
        let seconds = Date().timeIntervalSince(started)
        let names = Ledger.projectionNames
        if options.json {
            print(JSONValue.object(JSONObject([("events", .int(events)), ("projections", .array(names.map { .string($0) })),
                                               ("seconds", .string(String(format: "%.3f", seconds)))])).jsonLine, terminator: "")
        } else {
            print("rebuilt \(names.joined(separator: ", ")) from \(events) events in \(String(format: "%.2f", seconds)) s")
        }
    }
}

struct Timings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timings",
        abstract: "Time the read queries in-process (for the benchmark): case show, audit --case and (with --checkpoint) prove case, p50/p99 in ms.",
        discussion: "Cases are drawn with a seeded generator; process start-up is not included.")

    @OptionGroup var options: LedgerOptions

    @Option(help: "How many queries of each kind.")
    var samples: Int = 1000

    @Option(help: "Seed for picking cases.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Also time `prove case` against this checkpoint.", valueName: "file"))
    var checkpoint: String?

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .read)
        var caseIDs: [String] = []
        try ledger.caseViews { view in caseIDs.append(view["case_id"]!.stringValue!) }
        guard !caseIDs.isEmpty else { throw LedgerError.notFound("no cases in \(options.path)") }
        var random = SeededRandom(seed: seed)
        func measure(_ body: (String) throws -> Void) throws -> [Double] {
            var millis: [Double] = []
            for _ in 0..<samples {
                let id = random.pick(caseIDs)
                let started = DispatchTime.now().uptimeNanoseconds
                try body(id)
                millis.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
            }
            return millis.sorted()
        }
        let show = try measure { id in _ = CanonicalJSON.bytes(try ledger.caseView(id)) }
        let audit = try measure { id in
            var bytes = 0
            try ledger.auditTrail(.caseID(id)) { entry in bytes += CanonicalJSON.bytes(entry.json).count }
        }
        var report: [(String, [Double])] = [("case_show", show), ("audit_case", audit)]
        if let checkpoint {
            let note = try KeyFiles.read(checkpoint, what: "checkpoint")
            report.append(("prove_case", try measure { id in _ = CanonicalJSON.bytes(try ledger.caseProof(caseID: id, checkpointNote: note)) }))
        }
        func percentile(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * p))] }
        if options.json {
            var members: [(key: String, value: JSONValue)] = [("samples", .int(Int64(samples)))]
            for (name, values) in report {
                for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
                    members.append(("\(name)_\(label)_us", .int(Int64(percentile(values, p) * 1000))))
                }
            }
            print(JSONValue.object(JSONObject(members)).jsonLine, terminator: "")
        } else {
            for (name, values) in report {
                print(String(format: "%@: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d samples)", name, percentile(values, 0.5),
                             percentile(values, 0.99), values.last!, samples))
            }
        }
    }
}
