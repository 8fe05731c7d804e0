import Foundation
import XMoEBase

/// A run's record of the data it trains on: the SHA-256 of the dataset's `.bin` and `.idx`, kept in
/// `checkpoints/DATA_SHA256` (the `sha256sum` format, so it can be checked by hand). Written when a
/// run starts without checkpoints; compared on every resume, so a run never continues on other data
/// — a file replaced behind `data.prefix`, or `data.input` edited in place (its prepared data then
/// differs) — whatever the files' sizes and modification times say.
///
/// Content, not path, is compared: the prepared files move when the data step's cache key changes
/// for reasons that leave the tokens alone, and resuming onto the same tokens is right.
enum DataIdentity {
    struct Changed: Error, CustomStringConvertible {
        let description: String
    }

    static let recordName = "DATA_SHA256"

    /// Verifies (resume) or records (fresh start) the identity of `prefix`'s files for the run at
    /// `runRoot`. `source`: the `data.input` the files were prepared from, for the message.
    static func verify(prefix: String, runRoot: URL, source: String?) throws {
        let checkpoints = runRoot.appendingPathComponent("checkpoints")
        let record = checkpoints.appendingPathComponent(recordName)
        let current = try [".bin", ".idx"].map { ext in (ext, prefix + ext, try ContentDigest.sha256(fileAt: prefix + ext)) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        let resuming = names.contains { $0.hasPrefix("step_") }
        if resuming, let text = try? String(contentsOf: record, encoding: .utf8) {
            let recorded = parse(text)
            for (ext, path, hash) in current {
                guard let (oldHash, oldPath) = recorded[ext], oldHash != hash else { continue }
                let origin = source.map { " (prepared from data.input \($0))" } ?? ""
                throw Changed(description: """
                    \(runRoot.path) was trained on other data: its checkpoints were written while \(oldPath) \
                    had SHA-256 \(oldHash), but \(path)\(origin) now has SHA-256 \(hash). Resuming would \
                    continue training on different data, so xmoe refuses. Restore the original data, or start \
                    over: give this experiment another name (name=...), or move \(checkpoints.path) away.
                    """)
            }
            return
        }
        // A fresh start, or checkpoints from before this record existed: record what is trained on now.
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        try AtomicWrite.write(current.map { "\($0.2)  \($0.1)\n" }.joined(), to: record)
    }

    /// `sha256  path` lines → extension → (hash, path).
    static func parse(_ text: String) -> [String: (String, String)] {
        var out: [String: (String, String)] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let path = parts[1].trimmingCharacters(in: .whitespaces)
            for ext in [".bin", ".idx"] where path.hasSuffix(ext) { out[ext] = (String(parts[0]), path) }
        }
        return out
    }
}
