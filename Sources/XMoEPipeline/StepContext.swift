import Foundation

/// What a step body sees. Outputs are written under temporary names and committed (renamed) when
/// whole, so an interrupted step never leaves a truncated file at a name a later step would trust.
public struct StepContext: Sendable {
    public let stepName: String
    public let runDirectory: RunDirectory
    public let inputs: [String: String]
    /// Outputs of the upstream steps, by step name (from this run or from their records).
    public let upstreamOutputs: [String: StepOutputs]
    let reporter: any ProgressReporter

    /// The final location of an output path (relative to the run directory).
    public func outputURL(_ relativePath: String) throws -> URL {
        try runDirectory.outputURL(relativePath, step: stepName)
    }

    /// Where to write `relativePath` while it is incomplete. Any leftover from an interrupted attempt is
    /// removed and the parent directory is created.
    public func temporaryURL(for relativePath: String) throws -> URL {
        let url = try runDirectory.temporaryOutputURL(relativePath, step: stepName)
        let manager = FileManager.default
        if manager.fileExists(atPath: url.path) {
            try manager.removeItem(at: url)
        }
        try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        return url
    }

    /// Renames the temporary output of `relativePath` to its final name (replacing an older one).
    public func commit(_ relativePath: String) throws {
        let temporary = try runDirectory.temporaryOutputURL(relativePath, step: stepName)
        guard FileManager.default.fileExists(atPath: temporary.path) else {
            throw PipelineError.io(
                "step '\(stepName)' commits '\(relativePath)', but nothing was written at \(temporary.path)")
        }
        try AtomicFile.rename(temporary, to: try outputURL(relativePath))
    }

    /// The final location of a named output of an upstream step.
    public func upstreamFile(step: String, name: String) throws -> URL {
        guard let path = upstreamOutputs[step]?.files[name] else {
            throw PipelineError.io("step '\(stepName)' asks for output '\(name)' of '\(step)', which has none")
        }
        return try runDirectory.outputURL(path, step: step)
    }

    /// Reports how far the step is (`fraction` in 0...1 when known) with a short human message.
    public func progress(_ fraction: Double?, _ message: String) {
        reporter.progress(stepName, fraction: fraction, message: message)
    }
}
