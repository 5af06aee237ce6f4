import Foundation

/// The event schemas, loaded from `Schemas/events/<type>.v<N>.schema.json` (embedded at build time).
///
/// ```swift
/// let schema = try SchemaCatalogue.shared.schema(for: .callPlaced, version: 1)
/// ```
public struct SchemaCatalogue: Sendable {
    /// Every file under `Schemas/`, by relative path (`events/call.placed.v1.schema.json`).
    public static let files: [String: String] = Dictionary(uniqueKeysWithValues: EmbeddedSchemas.files.map { ($0.path, $0.text) })

    /// The catalogue built from the embedded files. Loading errors are programming errors: a test loads every schema.
    public static let shared: SchemaCatalogue = {
        do { return try SchemaCatalogue(files: files) } catch { fatalError("embedded schemas do not load: \(error)") }
    }()

    let schemas: [EventType: [Int: JSONSchema]]

    public init(files: [String: String]) throws(SchemaLoadError) {
        var schemas: [EventType: [Int: JSONSchema]] = [:]
        for (path, text) in files where path.hasPrefix("events/") && path.hasSuffix(".schema.json") {
            let name = path.dropFirst("events/".count).dropLast(".schema.json".count)
            guard let dot = name.range(of: ".v", options: .backwards), let version = Int(name[dot.upperBound...]),
                let type = EventType(rawValue: String(name[..<dot.lowerBound]))
            else { throw SchemaLoadError(path: path, reason: "file name is not <type>.v<N>.schema.json for a catalogued type") }
            do { schemas[type, default: [:]][version] = try JSONSchema(json: text) } catch {
                throw SchemaLoadError(path: path + (error.path.isEmpty ? "" : "#" + error.path), reason: error.reason)
            }
        }
        for type in EventType.allCases where schemas[type] == nil {
            throw SchemaLoadError(path: "events/", reason: "no schema for \(type.rawValue)")
        }
        self.schemas = schemas
        currentVersions = EventType.allCases.map { schemas[$0]!.keys.max()! }  // allCases is in ordinal order
    }

    /// The newest schema version of each type, by `EventType.ordinal`: asked once per event of a
    /// fold, where even hashing the type cost more than the rest of the lookup.
    private let currentVersions: [Int]

    /// The newest schema version of a type: what a submission without `schema_version` is checked against.
    public func currentVersion(of type: EventType) -> Int { currentVersions[type.ordinal] }

    public func versions(of type: EventType) -> [Int] { schemas[type]!.keys.sorted() }

    public func schema(for type: EventType, version: Int) -> JSONSchema? { schemas[type]?[version] }
}
