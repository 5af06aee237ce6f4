/// A compact JSON Schema (draft 2020-12) validator for the keywords the ledger's schemas use:
/// `type`, `properties`, `required`, `additionalProperties: false`, `enum`, `minimum`, `maximum`,
/// `minLength`, `maxLength` (in Unicode code points), `items`, `minItems`, `maxItems`, and `format`
/// `date`, `date-time`, `uuid`. A schema that uses any other keyword fails to load, so nothing is
/// silently left unchecked. A test cross-checks the verdicts with Python's `jsonschema`.
///
/// ```swift
/// let schema = try JSONSchema(json: schemaText)
/// try schema.validate(data, at: "data")   // throws FieldError("data.amount_minor", "expected integer ≥ 1, got -500")
/// ```
public struct JSONSchema: Sendable {
    indirect enum Node: Sendable {
        case object(properties: [(name: String, schema: Node)], required: [String], closed: Bool)
        case string(minLength: Int?, maxLength: Int?, allowed: [String]?, format: Format?)
        case integer(minimum: Int64?, maximum: Int64?, allowed: [Int64]?)
        case boolean
        case array(items: Node?, minItems: Int?, maxItems: Int?)
    }

    enum Format: String, Sendable {
        case date, dateTime = "date-time", uuid
    }

    let root: Node
    public let title: String?

    public init(json text: String) throws(SchemaLoadError) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw SchemaLoadError(path: "", reason: error.description) }
        try self.init(value)
    }

    public init(_ value: JSONValue) throws(SchemaLoadError) {
        root = try Self.compile(value, path: "")
        title = value["title"]?.stringValue
    }

    /// The names of the root object's properties, in schema order.
    public var propertyNames: [String] {
        if case .object(let properties, _, _) = root { return properties.map(\.name) }
        return []
    }

    static let annotationKeywords: Set<String> = ["$schema", "$id", "title", "description", "$comment", "examples"]

    static func compile(_ value: JSONValue, path: String) throws(SchemaLoadError) -> Node {
        guard let object = value.objectValue else { throw SchemaLoadError(path: path, reason: "a schema must be an object") }
        guard let type = object["type"]?.stringValue else {
            throw SchemaLoadError(path: path, reason: "every schema node needs a single \"type\"")
        }
        let allowed: Set<String>
        let node: Node
        func int(_ key: String) throws(SchemaLoadError) -> Int64? {
            guard let member = object[key] else { return nil }
            guard let number = member.intValue else { throw SchemaLoadError(path: path, reason: "\(key) must be an integer") }
            return number
        }
        switch type {
        case "object":
            allowed = ["type", "properties", "required", "additionalProperties"]
            var properties: [(name: String, schema: Node)] = []
            for member in object["properties"]?.objectValue?.members ?? [] {
                properties.append((member.key, try compile(member.value, path: path + "/properties/" + member.key)))
            }
            let required = (object["required"]?.arrayValue ?? []).compactMap(\.stringValue)
            for name in required where !properties.contains(where: { $0.name == name }) {
                throw SchemaLoadError(path: path, reason: "required \"\(name)\" is not among the properties")
            }
            guard object["additionalProperties"] == .bool(false) else {
                throw SchemaLoadError(path: path, reason: "objects must say \"additionalProperties\": false")
            }
            node = .object(properties: properties, required: required, closed: true)
        case "string":
            allowed = ["type", "minLength", "maxLength", "enum", "format"]
            var format: Format?
            if let name = object["format"]?.stringValue {
                guard let known = Format(rawValue: name) else {
                    throw SchemaLoadError(path: path, reason: "unsupported format \"\(name)\"")
                }
                format = known
            }
            let values = object["enum"]?.arrayValue.map { $0.compactMap(\.stringValue) }
            node = .string(minLength: try int("minLength").map(Int.init), maxLength: try int("maxLength").map(Int.init),
                           allowed: values, format: format)
        case "integer":
            allowed = ["type", "minimum", "maximum", "enum"]
            node = .integer(minimum: try int("minimum"), maximum: try int("maximum"),
                            allowed: object["enum"]?.arrayValue.map { $0.compactMap(\.intValue) })
        case "boolean":
            allowed = ["type"]
            node = .boolean
        case "array":
            allowed = ["type", "items", "minItems", "maxItems"]
            let items: Node? = if let itemSchema = object["items"] { try compile(itemSchema, path: path + "/items") } else { nil }
            node = .array(items: items, minItems: try int("minItems").map(Int.init), maxItems: try int("maxItems").map(Int.init))
        default:
            throw SchemaLoadError(path: path, reason: "unsupported type \"\(type)\"")
        }
        for key in object.keys where !allowed.contains(key) && !annotationKeywords.contains(key) {
            throw SchemaLoadError(path: path, reason: "keyword \"\(key)\" is not supported for type \(type)")
        }
        return node
    }

    /// Throws the first violation found, naming the field path (`data.installments[2].due_date`).
    public func validate(_ value: JSONValue, at path: String = "data") throws(FieldError) {
        do {
            try Self.check(value, against: root)
        } catch {
            // Paths are built only on failure: the valid path allocates nothing for them.
            throw FieldError(path: path + error.path, reason: error.reason)
        }
    }

    /// Checks `value`; a thrown error's path is relative (`.installments[2].due_date`).
    static func check(_ value: JSONValue, against node: Node) throws(FieldError) {
        switch node {
        case .object(let properties, let required, let closed):
            guard case .object(let object) = value else { throw mismatch("object", value) }
            for name in required where object[name] == nil {
                throw FieldError(path: "." + name, reason: "required field is missing")
            }
            for member in object.members {
                guard let property = properties.first(where: { $0.name == member.key }) else {
                    if closed {
                        throw FieldError(
                            path: "." + member.key,
                            reason: "unknown field (allowed: \(properties.map(\.name).joined(separator: ", ")))")
                    }
                    continue
                }
                do { try check(member.value, against: property.schema) } catch {
                    throw FieldError(path: "." + member.key + error.path, reason: error.reason)
                }
            }
        case .string(let minLength, let maxLength, let allowed, let format):
            guard case .string(let string) = value else { throw mismatch("string", value) }
            if let allowed, !allowed.contains(string) {
                throw FieldError(path: "", reason: "expected one of \(allowed.joined(separator: ", ")); got \(quoted(string))")
            }
            if minLength != nil || maxLength != nil {
                let length = string.unicodeScalars.count
                if let minLength, length < minLength {
                    throw FieldError(path: "", reason: length == 0 ? "must not be empty" : "expected at least \(minLength) characters, got \(length)")
                }
                if let maxLength, length > maxLength {
                    throw FieldError(path: "", reason: "expected at most \(maxLength) characters, got \(length)")
                }
            }
            if let format {
                switch format {
                case .date where !CalendarDate.isValid(string):
                    throw FieldError(path: "", reason: "expected a date YYYY-MM-DD, got \(quoted(string))")
                case .dateTime where Timestamp(rfc3339: string) == nil:
                    throw FieldError(path: "", reason: "expected an RFC 3339 date-time with an offset, got \(quoted(string))")
                case .uuid where !UUIDText.isValid(string):
                    throw FieldError(path: "", reason: "expected a UUID (8-4-4-4-12 hex digits), got \(quoted(string))")
                default: break
                }
            }
        case .integer(let minimum, let maximum, let allowed):
            guard case .int(let number) = value else { throw mismatch("integer", value) }
            if let minimum, number < minimum {
                throw FieldError(path: "", reason: "expected integer ≥ \(minimum), got \(number)")
            }
            if let maximum, number > maximum {
                throw FieldError(path: "", reason: "expected integer ≤ \(maximum), got \(number)")
            }
            if let allowed, !allowed.contains(number) {
                throw FieldError(path: "", reason: "expected one of \(allowed.map(String.init).joined(separator: ", ")); got \(number)")
            }
        case .boolean:
            guard case .bool = value else { throw mismatch("boolean", value) }
        case .array(let items, let minItems, let maxItems):
            guard case .array(let elements) = value else { throw mismatch("array", value) }
            if let minItems, elements.count < minItems {
                throw FieldError(path: "", reason: "expected at least \(minItems) items, got \(elements.count)")
            }
            if let maxItems, elements.count > maxItems {
                throw FieldError(path: "", reason: "expected at most \(maxItems) items, got \(elements.count)")
            }
            if let items {
                for (position, element) in elements.enumerated() {
                    do { try check(element, against: items) } catch {
                        throw FieldError(path: "[\(position)]" + error.path, reason: error.reason)
                    }
                }
            }
        }
    }

    static func mismatch(_ expected: String, _ value: JSONValue) -> FieldError {
        FieldError(path: "", reason: "expected \(expected), got \(value.typeName)")
    }

    static func quoted(_ string: String) -> String {
        let shown = string.unicodeScalars.count > 60 ? String(string.unicodeScalars.prefix(60)) + "…" : string
        return CanonicalJSON.string(.string(shown))
    }
}

/// A field that is not acceptable: where (`data.amount_minor`, `occurred_at`) and why.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// A schema file the validator cannot use.
public struct SchemaLoadError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "schema\(path.isEmpty ? "" : " at " + path): \(reason)" }
}

/// The textual UUID form the ledger accepts: 8-4-4-4-12 hex digits.
public enum UUIDText {
    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { u in
            guard u.count == 36 else { return false }
            for i in 0..<36 {
                let c = u[i]
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    if c != UInt8(ascii: "-") { return false }
                } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
                    return false
                }
            }
            return true
        }
    }
}
