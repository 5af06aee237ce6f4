import Foundation

/// Writes a whole file or nothing: a temporary file in the same folder, `fsync`, `rename(2)`
/// over the target, then `fsync` of the folder so the rename itself survives a crash. A reader
/// sees the old file or the new one, never half of either; an interrupted write leaves the old one.
///
/// ```swift
/// try AtomicFile.write(Array(json.utf8), to: "pack/evidence.json")
/// ```
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        func failure(_ what: String) -> LedgerError {
            LedgerError.invalidInput("cannot write \(path): \(what): \(String(cString: strerror(errno)))")
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw failure("cannot create a temporary file in \(folder)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let count = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += count
            }
            return fsync(descriptor) == 0
        }
        let closed = close(descriptor) == 0
        guard ok, closed else {
            let error = failure("writing failed")
            unlink(temporary)
            throw error
        }
        try install(temporary, at: path)
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
