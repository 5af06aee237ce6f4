import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Append a synthetic, realistic portfolio (the same for the same seed).",
        discussion: """
            With --out, write the events as NDJSON to a file instead of appending them.

            Events come out in the order they reach the ledger, so those of cases still running wait \
            for the cases that open after them. Beyond \(PortfolioGenerator.waitingBytesInMemory >> 20) MiB they wait in a \
            temporary file (in $TMPDIR, else /tmp), removed from the folder as soon as it is open. \
            The file given to --out is written whole or not at all.
            """)

    @OptionGroup var options: LedgerOptions

    @Option(help: "How many cases.")
    var cases: Int

    @Option(help: "Seed: the same seed gives the same events, event ids included.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Write NDJSON to this file instead of appending.", valueName: "file"))
    var out: String?

    @Option(name: .customLong("id-style"), help: "Event ids: v7 (time-ordered, the default) or v4 (random).")
    var idStyle: PortfolioGenerator.IDStyle = .v7

    func validate() throws {
        guard cases >= 1, cases <= 1_000_000 else { throw ValidationError("--cases must be between 1 and 1000000") }
    }

    func run() throws {
        let generator = PortfolioGenerator(cases: cases, seed: seed, idStyle: idStyle)
        if let out {
            let written = try PortfolioExport.write(generator, to: out)
            report(["cases": cases, "events": written, "path": out], human: "wrote \(written) events for \(cases) cases to \(out)")
            return
        }
        let ledger = try Ledger(path: options.path, mode: .create)
        let summary = try ledger.append(generator)
        report(["cases": cases, "appended": summary.appended, "duplicates": summary.duplicates, "head_seq": Int(summary.headSeq)],
               human: "appended \(summary.appended) events for \(cases) cases (\(summary.duplicates) already there); head seq \(summary.headSeq)")
    }

    func report(_ fields: KeyValuePairs<String, Any>, human: String) {
        if options.json {
            let members = fields.map { (key: $0.key, value: $0.value is String ? JSONValue.string($0.value as! String) : JSONValue.int(Int64($0.value as! Int))) }
            print(JSONValue.object(JSONObject(members)).jsonLine, terminator: "")
        } else {
            print(human)
        }
    }
}

/// Writes a generated portfolio as NDJSON, whole or not at all (`AtomicFile`).
enum PortfolioExport {
    static func write(_ generator: PortfolioGenerator, to path: String) throws -> Int {
        try AtomicFile.stream(to: path) { file in
            var count = 0
            try generator.forEachCanonicalArrival { text, _ in
                guard fwrite(text.baseAddress, 1, text.count, file) == text.count, fputc(0x0A, file) != EOF else {
                    throw AtomicFile.writingFailed(path)
                }
                count += 1
            }
            return count
        }
    }
}

extension PortfolioGenerator.IDStyle: ExpressibleByArgument {}
