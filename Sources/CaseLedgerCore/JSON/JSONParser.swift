/// A strict, fast JSON parser over UTF-8 bytes, shaped for the ledger's rules:
/// integers only (no fractions or exponents: money is never floating point), no duplicate keys,
/// valid UTF-8 and no lone surrogates, bounded nesting.
///
/// ```swift
/// let event = try JSONParser.parse(#"{"case_id": "C-1", "data": {"text": "债务人"}}"#)
/// ```
public enum JSONParser {
    /// Parses one complete JSON document; trailing non-whitespace is an error.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { bytes in
            do throws(JSONParseError) { return .success(try parse(bytes: bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses one complete JSON document from UTF-8 bytes.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.index < bytes.count {
            throw reader.error("unexpected text after the JSON value")
        }
        return value
    }

    /// The largest integer the ledger accepts: 2^53 − 1, the largest every JSON reader keeps exact.
    public static let maxSafeInteger: Int64 = 9_007_199_254_740_991

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ reason: String) -> JSONParseError {
            JSONParseError(offset: index, reason: reason)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard index < bytes.count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try parseInteger())
            default: throw error("unexpected character '\(Self.describe(bytes[index]))'")
            }
        }

        static func describe(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
        }

        mutating func expectLiteral(_ literal: String) throws(JSONParseError) {
            for expected in literal.utf8 {
                guard index < bytes.count, bytes[index] == expected else { throw error("invalid literal") }
                index += 1
            }
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > JSONLimits.maxDepth { throw error("nesting deeper than \(JSONLimits.maxDepth)") }
            index += 1  // {
            var members: [(key: String, value: JSONValue)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(members))
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted member name")
                }
                let keyOffset = index
                let key = try parseString()
                for member in members where member.key == key {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate member \"\(key)\"", path: key)
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                let value: JSONValue
                do { value = try parseValue(depth: depth) } catch { throw error.inside(member: key) }
                members.append((key, value))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of input in an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(JSONObject(members))
                } else {
                    throw error("expected ',' or '}'")
                }
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > JSONLimits.maxDepth { throw error("nesting deeper than \(JSONLimits.maxDepth)") }
            index += 1  // [
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                do { elements.append(try parseValue(depth: depth)) } catch { throw error.inside(element: elements.count) }
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of input in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    throw error("expected ',' or ']'")
                }
            }
        }

        mutating func parseInteger() throws(JSONParseError) -> Int64 {
            let start = index
            var negative = false
            if bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let digitsStart = index
            var magnitude: Int64 = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                if magnitude > JSONParser.maxSafeInteger / 10 + 1 {
                    index = start
                    throw error("integer out of range (at most ±\(JSONParser.maxSafeInteger))")
                }
                magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            if index == digitsStart { throw error("expected a digit") }
            if bytes[digitsStart] == UInt8(ascii: "0"), index - digitsStart > 1 {
                index = start
                throw error("leading zeros are not allowed")
            }
            if index < bytes.count,
                bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")
            {
                var end = index
                while end < bytes.count, end - start < 40, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"),
                                                            UInt8(ascii: "-")].contains(bytes[end]) || (bytes[end] >= 48 && bytes[end] <= 57) {
                    end += 1
                }
                let number = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                index = start
                throw error("\(number) has a fraction or an exponent; the ledger's numbers are integers (money in minor units)")
            }
            if magnitude > JSONParser.maxSafeInteger {
                index = start
                throw error("integer out of range (at most ±\(JSONParser.maxSafeInteger))")
            }
            return negative ? -magnitude : magnitude
        }

        /// Parses a string token starting at its opening quote.
        mutating func parseString() throws(JSONParseError) -> String {
            index += 1  // opening quote
            let start = index
            var asciiOnly = true
            // Fast path: no escapes. Scan to the closing quote.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    if asciiOnly { return String(decoding: slice, as: UTF8.self) }
                    guard let string = String(validating: slice, as: UTF8.self) else {
                        index = start
                        throw error("invalid UTF-8 in a string")
                    }
                    return string
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw error("control character in a string (must be escaped)") }
                if byte >= 0x80 { asciiOnly = false }
                index += 1
            }
            // Slow path: the string has escapes.
            var buffer = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    guard let string = String(validating: buffer, as: UTF8.self) else {
                        index = start
                        throw error("invalid UTF-8 in a string")
                    }
                    return string
                }
                if byte < 0x20 { throw error("control character in a string (must be escaped)") }
                if byte != UInt8(ascii: "\\") {
                    buffer.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("lone surrogate in a \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("lone surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("lone surrogate in a \\u escape")
                    }
                    buffer.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    index -= 1
                    throw error("invalid escape '\\\(Self.describe(escaped))'")
                }
            }
            throw error("unterminated string")
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("unexpected end of input in a \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error("invalid hex digit in a \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }
    }
}

/// Why a JSON text could not be read, and where: the byte offset from its start, and the member
/// it was reading (`expected_version`, `data.installments[2].amount_minor`; empty at the top).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var path: String = ""

    public init(offset: Int, reason: String, path: String = "") {
        self.offset = offset
        self.reason = reason
        self.path = path
    }

    public var description: String { "invalid JSON at column \(offset + 1): \(reason)" }

    /// The same error, one level up: inside the member `key` of an object.
    func inside(member key: String) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason, path: path.isEmpty || path.hasPrefix("[") ? key + path : key + "." + path)
    }

    /// The same error, one level up: inside element `index` of an array.
    func inside(element index: Int) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason, path: path.isEmpty || path.hasPrefix("[") ? "[\(index)]" + path : "[\(index)]." + path)
    }
}

public enum JSONLimits {
    /// Deepest nesting of objects and arrays accepted in one document.
    public static let maxDepth = 16
}
