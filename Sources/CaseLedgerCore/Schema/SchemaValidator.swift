import Foundation

/// A compact JSON Schema (draft 2020-12) validator for the keywords the ledger's schemas use:
/// `type` (one name, or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `const`, `minimum`, `maximum`, `minLength`, `maxLength` (in Unicode code points), `pattern`,
/// `items`, `minItems`, `maxItems`, `anyOf`, `oneOf`, `$ref` into `#/$defs/…`, and `format`
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
        case string(minLength: Int?, maxLength: Int?, allowed: [String]?, format: Format?, pattern: Pattern?)
        case integer(minimum: Int64?, maximum: Int64?, allowed: [Int64]?)
        case boolean
        case null
        case array(items: Node?, minItems: Int?, maxItems: Int?)
        /// `const`: exactly this value.
        case constant(JSONValue)
        /// `anyOf` (`exactlyOne` false) or `oneOf` (true).
        case alternatives([Node], exactlyOne: Bool)

        var typeName: String {
            switch self {
            case .object: "object"
            case .string: "string"
            case .integer: "integer"
            case .boolean: "boolean"
            case .null: "null"
            case .array: "array"
            case .constant(let value): CanonicalJSON.string(value)
            case .alternatives(let nodes, _): nodes.map(\.typeName).joined(separator: " or ")
            }
        }
    }

    enum Format: String, Sendable {
        case date, dateTime = "date-time", uuid
    }

    /// A compiled `pattern` (ECMA-262 syntax; the ledger's patterns use only what ICU reads the same way).
    final class Pattern: @unchecked Sendable {
        let source: String
        let regex: NSRegularExpression

        init(_ source: String) throws {
            self.source = source
            regex = try NSRegularExpression(pattern: source)
        }

        func matches(_ string: String) -> Bool {
            regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        }
    }

    /// What a validation checks besides the schema itself.
    public struct Options: Sendable {
        /// Dates and date-times must also lie in the ledger's range (`Limits.earliestDate`…`latestDate`).
        public var ledgerDateRange: Bool

        public init(ledgerDateRange: Bool) { self.ledgerDateRange = ledgerDateRange }

        /// Plain JSON Schema, as any validator reads it.
        public static let schemaOnly = Options(ledgerDateRange: false)
        /// What the ledger accepts: the schema, and every date in range.
        public static let ledger = Options(ledgerDateRange: true)
    }

    let root: Node
    public let title: String?

    public init(json text: String) throws(SchemaLoadError) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw SchemaLoadError(path: "", reason: error.description) }
        try self.init(value)
    }

    public init(_ value: JSONValue) throws(SchemaLoadError) {
        root = try Self.compile(value, path: "", definitions: value["$defs"]?.objectValue)
        title = value["title"]?.stringValue
    }

    /// The names of the root object's properties, in schema order.
    public var propertyNames: [String] {
        if case .object(let properties, _, _) = root { return properties.map(\.name) }
        return []
    }

    static let annotationKeywords: Set<String> = ["$schema", "$id", "$defs", "title", "description", "$comment", "examples", "default"]

    static func compile(_ value: JSONValue, path: String, definitions: JSONObject?) throws(SchemaLoadError) -> Node {
        guard let object = value.objectValue else { throw SchemaLoadError(path: path, reason: "a schema must be an object") }
        func checkKeywords(_ allowed: Set<String>, _ what: String) throws(SchemaLoadError) {
            for key in object.keys where !allowed.contains(key) && !annotationKeywords.contains(key) {
                throw SchemaLoadError(path: path, reason: "keyword \"\(key)\" is not supported for \(what)")
            }
        }
        if let reference = object["$ref"] {
            try checkKeywords(["$ref"], "$ref")
            guard let target = reference.stringValue, target.hasPrefix("#/$defs/"),
                let definition = definitions?[String(target.dropFirst("#/$defs/".count))]
            else { throw SchemaLoadError(path: path, reason: "$ref must name an entry of #/$defs") }
            return try compile(definition, path: path + "/$ref", definitions: definitions)
        }
        if let constant = object["const"] {
            try checkKeywords(["const"], "const")
            return .constant(constant)
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let list = object[keyword] else { continue }
            try checkKeywords([keyword], keyword)
            guard let schemas = list.arrayValue, !schemas.isEmpty else {
                throw SchemaLoadError(path: path, reason: "\(keyword) must be a non-empty array")
            }
            var nodes: [Node] = []
            for (index, schema) in schemas.enumerated() {
                nodes.append(try compile(schema, path: path + "/\(keyword)/\(index)", definitions: definitions))
            }
            return .alternatives(nodes, exactlyOne: keyword == "oneOf")
        }
        if let types = object["type"]?.arrayValue {
            // "type": ["integer", "null"] is anyOf over single types with the same other keywords.
            var nodes: [Node] = []
            for type in types {
                guard case .string = type else { throw SchemaLoadError(path: path, reason: "type names must be strings") }
                var single = object
                single["type"] = type
                nodes.append(try compile(.object(single), path: path, definitions: definitions))
            }
            return .alternatives(nodes, exactlyOne: false)
        }
        guard let type = object["type"]?.stringValue else {
            throw SchemaLoadError(path: path, reason: "every schema node needs a \"type\" (or anyOf, oneOf, const, $ref)")
        }
        func int(_ key: String) throws(SchemaLoadError) -> Int64? {
            guard let member = object[key] else { return nil }
            guard let number = member.intValue else { throw SchemaLoadError(path: path, reason: "\(key) must be an integer") }
            return number
        }
        let node: Node
        switch type {
        case "object":
            try checkKeywords(["type", "properties", "required", "additionalProperties"], "type object")
            var properties: [(name: String, schema: Node)] = []
            for member in object["properties"]?.objectValue?.members ?? [] {
                properties.append((member.key, try compile(member.value, path: path + "/properties/" + member.key, definitions: definitions)))
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
            try checkKeywords(["type", "minLength", "maxLength", "enum", "format", "pattern"], "type string")
            var format: Format?
            if let name = object["format"]?.stringValue {
                guard let known = Format(rawValue: name) else {
                    throw SchemaLoadError(path: path, reason: "unsupported format \"\(name)\"")
                }
                format = known
            }
            var pattern: Pattern?
            if let source = object["pattern"] {
                guard let text = source.stringValue, let compiled = try? Pattern(text) else {
                    throw SchemaLoadError(path: path, reason: "pattern must be a regular expression")
                }
                pattern = compiled
            }
            let values = object["enum"]?.arrayValue.map { $0.compactMap(\.stringValue) }
            node = .string(minLength: try int("minLength").map(Int.init), maxLength: try int("maxLength").map(Int.init),
                           allowed: values, format: format, pattern: pattern)
        case "integer":
            try checkKeywords(["type", "minimum", "maximum", "enum"], "type integer")
            node = .integer(minimum: try int("minimum"), maximum: try int("maximum"),
                            allowed: object["enum"]?.arrayValue.map { $0.compactMap(\.intValue) })
        case "boolean":
            try checkKeywords(["type"], "type boolean")
            node = .boolean
        case "null":
            try checkKeywords(["type"], "type null")
            node = .null
        case "array":
            try checkKeywords(["type", "items", "minItems", "maxItems"], "type array")
            let items: Node? = if let itemSchema = object["items"] {
                try compile(itemSchema, path: path + "/items", definitions: definitions)
            } else { nil }
            node = .array(items: items, minItems: try int("minItems").map(Int.init), maxItems: try int("maxItems").map(Int.init))
        default:
            throw SchemaLoadError(path: path, reason: "unsupported type \"\(type)\"")
        }
        return node
    }

    /// Throws the first violation found, naming the field path (`data.installments[2].due_date`).
    public func validate(_ value: JSONValue, at path: String = "data", options: Options = .schemaOnly) throws(FieldError) {
        do {
            try Self.check(value, against: root, options: options)
        } catch {
            // Paths are built only on failure: the valid path allocates nothing for them.
            let relative = path.isEmpty && error.path.hasPrefix(".") ? String(error.path.dropFirst()) : error.path
            throw FieldError(path: path + relative, reason: error.reason)
        }
    }

    /// Checks `value`; a thrown error's path is relative (`.installments[2].due_date`).
    static func check(_ value: JSONValue, against node: Node, options: Options) throws(FieldError) {
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
                do { try check(member.value, against: property.schema, options: options) } catch {
                    throw FieldError(path: "." + member.key + error.path, reason: error.reason)
                }
            }
        case .string(let minLength, let maxLength, let allowed, let format, let pattern):
            guard case .string(let string) = value else { throw mismatch("string", value) }
            if let allowed, !allowed.contains(string) {
                throw FieldError(path: "", reason: "expected one of \(allowed.joined(separator: ", ")); got \(JSONText.quoted(string))")
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
            if let pattern, !pattern.matches(string) {
                throw FieldError(path: "", reason: "expected text matching \(pattern.source), got \(JSONText.quoted(string))")
            }
            if let format { try check(string, format: format, options: options) }
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
        case .null:
            guard case .null = value else { throw mismatch("null", value) }
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
                    do { try check(element, against: items, options: options) } catch {
                        throw FieldError(path: "[\(position)]" + error.path, reason: error.reason)
                    }
                }
            }
        case .constant(let expected):
            guard value == expected else {
                throw FieldError(path: "", reason: "expected \(CanonicalJSON.string(expected)), got \(CanonicalJSON.string(value).prefix(Limits.maxEchoedCharacters))")
            }
        case .alternatives(let nodes, let exactlyOne):
            var failures: [(node: Node, error: FieldError)] = []
            var matches = 0
            for alternative in nodes {
                do throws(FieldError) {
                    try check(value, against: alternative, options: options)
                    matches += 1
                } catch {
                    failures.append((alternative, error))
                }
            }
            if matches == 0 {
                // The alternative of the value's own type says best what is wrong; else name them all.
                let sameType = failures.filter { !$0.error.reason.hasPrefix("expected \($0.node.typeName), got ") }
                if sameType.count == 1 { throw sameType[0].error }
                throw FieldError(path: "", reason: "expected \(node.typeName), got \(value.typeName)")
            }
            if exactlyOne, matches > 1 {
                throw FieldError(path: "", reason: "matches more than one of: \(node.typeName)")
            }
        }
    }

    /// A `format`: the RFC's syntax, and with `options.ledgerDateRange` the ledger's range of dates.
    static func check(_ string: String, format: Format, options: Options) throws(FieldError) {
        switch format {
        case .date:
            if CalendarDate.days(string) == nil || options.ledgerDateRange, let problem = CalendarDate.problem(string) {
                throw FieldError(path: "", reason: problem)
            }
        case .dateTime:
            if Timestamp(rfc3339: string) == nil || options.ledgerDateRange, let problem = Timestamp.problem(rfc3339: string) {
                throw FieldError(path: "", reason: problem)
            }
        case .uuid where !UUIDText.isValid(string):
            throw FieldError(path: "", reason: "expected a UUID (8-4-4-4-12 hex digits), got \(JSONText.quoted(string))")
        case .uuid:
            break
        }
    }

    static func mismatch(_ expected: String, _ value: JSONValue) -> FieldError {
        FieldError(path: "", reason: "expected \(expected), got \(value.typeName)")
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
