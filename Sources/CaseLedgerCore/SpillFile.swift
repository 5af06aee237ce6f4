import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary file for what would not fit in memory: made in a folder and removed from it at
/// once, so it lives as long as it is open and nothing is left behind, even by a process that
/// dies. Written at its end, read anywhere.
public final class SpillFile {
    private let descriptor: Int32
    /// Who spills, for errors ("the generator").
    private let purpose: String
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    /// Nil when no file can be made in `folder`.
    public init?(folder: String, purpose: String) {
        var template = Array((folder + "/caseledger-spill-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { return nil }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
        self.purpose = purpose
    }

    deinit { close(descriptor) }

    /// Fills `bytes` from `offset`; throws when the file ends first.
    public func read(into bytes: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        try whole("read", bytes.count) { done in
            pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
        }
    }

    /// Writes `bytes` at the end.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try whole("write", bytes.count) { done in
            pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(size) + off_t(done))
        }
        size += Int64(bytes.count)
    }

    /// Repeats `call` (a read or write of what is left after `done` bytes, returning how many
    /// it moved) until `count` bytes are moved.
    private func whole(_ what: String, _ count: Int, _ call: (_ done: Int) -> Int) throws {
        var done = 0
        while done < count {
            let moved = call(done)
            if moved < 0, errno == EINTR { continue }
            guard moved > 0 else { throw failure(what, moved) }
            done += moved
        }
    }

    private func failure(_ what: String, _ result: Int) -> LedgerError {
        .storage("\(purpose) could not \(what) its spill file: \(result < 0 ? String(cString: strerror(errno)) : "it ended early")")
    }
}
