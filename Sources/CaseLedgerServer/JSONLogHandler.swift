import CaseLedgerCore
import Foundation
import Logging

/// One JSON object per line on stderr, for journald and log shippers:
/// `{"at":"2026-12-02T09:00:00.123456Z","level":"info","logger":"caseledger","message":"…", …metadata}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var members: [(key: String, value: JSONValue)] = [
            ("at", .string(LedgerClock.now().utcString)), ("level", .string(event.level.rawValue)), ("logger", .string(label)),
            ("message", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["at", "level", "logger", "message"].contains(key) {
            members.append((key, Self.json(value)))
        }
        let line = CanonicalJSON.bytes(.object(JSONObject(members))) + [0x0A]
        line.withUnsafeBytes { raw in _ = Foundation.write(STDERR_FILENO, raw.baseAddress!, raw.count) }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible):
            if let number = convertible as? Int { .int(Int64(number)) } else if let number = convertible as? Int64 { .int(number) } else {
                .string(convertible.description)
            }
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(JSONObject(members.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }
}
