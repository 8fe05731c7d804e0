import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes go to a temporary sibling, are flushed, then renamed over the target: a reader (or a
/// crash) sees the old file or the new one, never a torn one.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw PipelineError.io("cannot create \(temporary.path): \(String(cString: strerror(errno)))")
        }
        var written = 0
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure {
            unlink(temporary.path)
            throw PipelineError.io("cannot write \(temporary.path): \(failure)")
        }
        try rename(temporary, to: url)
    }

    /// rename(2): atomic replacement of a file; for a directory target, the old one is removed first.
    static func rename(_ source: URL, to destination: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: destination.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        {
            try FileManager.default.removeItem(at: destination)
        }
        if Foundation.rename(source.path, destination.path) != 0 {
            let message = String(cString: strerror(errno))
            throw PipelineError.io("cannot rename \(source.path) to \(destination.path): \(message)")
        }
    }
}
