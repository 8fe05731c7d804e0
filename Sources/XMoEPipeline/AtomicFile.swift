import Foundation
import XMoEBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic writes of step records, and renames of finished outputs into place.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        do {
            try AtomicWrite.write(data, to: url)
        } catch let failure as AtomicWrite.Failure {
            throw PipelineError.io(failure.description)
        }
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
