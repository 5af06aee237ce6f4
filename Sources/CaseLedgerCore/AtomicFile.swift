import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a whole file or nothing: a temporary file in the same folder, `fsync`, `rename(2)`
/// over the target, then `fsync` of the folder so the rename itself survives a crash. A reader
/// sees the old file or the new one, never half of either; an interrupted write leaves the old one.
///
/// ```swift
/// try AtomicFile.write(Array(json.utf8), to: "pack/evidence.json")
/// ```
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        try stream(to: path, mode: mode) { file in
            guard bytes.isEmpty || fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw writingFailed(path) }
        }
    }

    /// The same for a file written a piece at a time through `body` (which may throw, and then
    /// nothing is written): a generated portfolio of gigabytes, whose generation may fail on the
    /// way, is never left half-written at `path`.
    public static func stream<T>(to path: String, mode: mode_t = 0o644, _ body: (UnsafeMutablePointer<FILE>) throws -> T) throws -> T {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else {
            throw LedgerError.invalidInput("cannot write \(path): cannot create a temporary file in \(folder): \(String(cString: strerror(errno)))")
        }
        guard let file = fdopen(descriptor, "w") else {
            let error = writingFailed(path)
            close(descriptor)
            unlink(temporary)
            throw error
        }
        let value: T
        do {
            value = try body(file)
            guard fflush(file) == 0, fsync(descriptor) == 0 else { throw writingFailed(path) }
        } catch {
            fclose(file)
            unlink(temporary)
            throw error
        }
        guard fclose(file) == 0 else {
            let error = writingFailed(path)
            unlink(temporary)
            throw error
        }
        try install(temporary, at: path)
        return value
    }

    /// The error for a write that failed, with the system's reason (`errno`).
    public static func writingFailed(_ path: String) -> LedgerError {
        LedgerError.invalidInput("cannot write \(path): writing failed: \(String(cString: strerror(errno)))")
    }

    /// Moves a finished temporary file (already synced) over `path`, then syncs the folder.
    public static func install(_ temporary: String, at path: String) throws {
        guard rename(temporary, path) == 0 else {
            let error = LedgerError.invalidInput("cannot write \(path): cannot move the new file into place: \(String(cString: strerror(errno)))")
            unlink(temporary)
            throw error
        }
        let folderDescriptor = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}
