import Foundation

/// Reads NDJSON from a file descriptor one line at a time, without holding the input in memory:
/// each line is handed out as bytes valid only during the call. Blank lines are skipped but counted.
///
/// ```swift
/// try LineReader(fileDescriptor: STDIN_FILENO).forEachLine { number, bytes in … }
/// ```
public struct LineReader {
    let fileDescriptor: Int32
    let maxLineBytes: Int
    static let chunkBytes = 1 << 20

    public init(fileDescriptor: Int32, maxLineBytes: Int = Limits.maxLineBytes) {
        self.fileDescriptor = fileDescriptor
        self.maxLineBytes = maxLineBytes
    }

    public func forEachLine(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: Self.chunkBytes + maxLineBytes + 1)
        var filled = 0
        var lineNumber = 0
        var endOfInput = false
        while !endOfInput {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(fileDescriptor, raw.baseAddress! + filled, raw.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw LedgerError.invalidInput("cannot read input: \(String(cString: strerror(errno)))")
            }
            if count == 0 { endOfInput = true }
            filled += count
            let consumed = try buffer.withUnsafeBufferPointer { all in
                try Self.scan(UnsafeBufferPointer(rebasing: all[..<filled]), endOfInput: endOfInput, lineNumber: &lineNumber,
                              maxLineBytes: maxLineBytes, body)
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
                }
                filled -= consumed
            }
            if filled > maxLineBytes, !endOfInput {
                throw LedgerError.invalidEvent(line: lineNumber + 1, field: nil, reason: "line is longer than \(maxLineBytes) bytes")
            }
        }
    }

    /// The same for a batch already in memory (an HTTP request's body).
    public static func forEachLine(in bytes: UnsafeBufferPointer<UInt8>, maxLineBytes: Int = Limits.maxLineBytes,
                                   _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var lineNumber = 0
        _ = try scan(bytes, endOfInput: true, lineNumber: &lineNumber, maxLineBytes: maxLineBytes, body)
    }

    /// Hands out each complete line of `all` (and, at the end of input, the last one without its
    /// newline), CR LF read as LF, blank lines counted but skipped. Returns the bytes consumed.
    static func scan(_ all: UnsafeBufferPointer<UInt8>, endOfInput: Bool, lineNumber: inout Int, maxLineBytes: Int,
                     _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Int {
        var start = 0
        while start < all.count {
            let newline: Int
            if let found = memchr(all.baseAddress! + start, 0x0A, all.count - start) {
                newline = UnsafeRawPointer(found) - UnsafeRawPointer(all.baseAddress!)
            } else if endOfInput {
                newline = all.count
            } else {
                break
            }
            lineNumber += 1
            var end = newline
            if end > start, all[end - 1] == 0x0D { end -= 1 }
            if end - start > maxLineBytes {
                throw LedgerError.invalidEvent(line: lineNumber, field: nil, reason: "line is \(end - start) bytes; at most \(maxLineBytes) allowed")
            }
            let line = UnsafeBufferPointer(rebasing: all[start..<end])
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { try body(lineNumber, line) }
            start = newline + 1
        }
        return min(start, all.count)
    }
}
