import Foundation

/// Whole-file operations.
public enum Store {
    /// Builds a new file with `body` and puts it at `path` in one step: the file is written under a
    /// temporary name in the same directory, flushed, closed, synced to disk, then renamed over
    /// `path`. A crash or a thrown error never leaves a partial file at `path`; on error the old
    /// file (if any) is untouched and the temporary file is removed. `body` must not close `file`
    /// or keep it beyond the call.
    @discardableResult
    public static func writeAtomically<R>(to path: String, _ body: (StoreFile) throws -> R) throws -> R {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            .path
        var renamed = false
        defer { if !renamed { unlink(temporary) } }

        let file = try StoreFile.create(at: temporary)
        let result: R
        do {
            result = try body(file)
            try file.flush()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        try syncToDisk(temporary, file: path, what: "sync the temporary file \(temporary)")
        if rename(temporary, path) != 0 {
            throw StoreError(.io, file: path, object: nil,
                             message: "cannot rename \(temporary) over it: \(String(cString: strerror(errno)))")
        }
        renamed = true
        // The rename itself lives in the directory: sync it so the new name survives a crash.
        try syncToDisk(directory, file: path, what: "sync the directory \(directory)")
        return result
    }

    private static func syncToDisk(_ target: String, file: String, what: String) throws {
        let descriptor = open(target, O_RDONLY)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { _ = Foundation.close(descriptor) }
            throw StoreError(.io, file: file, object: nil, message: "cannot \(what): \(reason)")
        }
        _ = Foundation.close(descriptor)
    }
}
