import Foundation

/// What a step body sees. Outputs are written under temporary names and committed (renamed) when
/// whole, so an interrupted step never leaves a truncated file at a name a later step would trust.
public struct StepContext: Sendable {
    public let stepName: String
    public let runDirectory: RunDirectory
    /// The directory this step's output paths are relative to: the run directory's root, or the cache
    /// entry of a shared step.
    public let outputRoot: URL
    public let inputs: [String: String]
    /// Outputs of the upstream steps, by step name (from this run or from their records).
    public let upstreamOutputs: [String: StepOutputs]
    /// The directory each upstream step's output paths are relative to, by step name.
    let upstreamRoots: [String: URL]
    /// The cache keys of the upstream steps, by step name (what the data a step reads was made from).
    public let upstreamKeys: [String: String]
    let reporter: any ProgressReporter

    /// The final location of an output path (relative to `outputRoot`).
    public func outputURL(_ relativePath: String) throws -> URL {
        try OutputPath.resolve(relativePath, under: outputRoot, step: stepName)
    }

    /// Where to write `relativePath` while it is incomplete. Any leftover from an interrupted attempt is
    /// removed and the parent directory is created.
    public func temporaryURL(for relativePath: String) throws -> URL {
        let url = try OutputPath.temporary(relativePath, under: outputRoot, step: stepName)
        let manager = FileManager.default
        if manager.fileExists(atPath: url.path) {
            try manager.removeItem(at: url)
        }
        try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        return url
    }

    /// Renames the temporary output of `relativePath` to its final name (replacing an older one).
    public func commit(_ relativePath: String) throws {
        let temporary = try OutputPath.temporary(relativePath, under: outputRoot, step: stepName)
        guard FileManager.default.fileExists(atPath: temporary.path) else {
            throw PipelineError.io(
                "step '\(stepName)' commits '\(relativePath)', but nothing was written at \(temporary.path)")
        }
        try AtomicFile.rename(temporary, to: try outputURL(relativePath))
    }

    /// The directory an upstream step's output paths (files, and relative paths it records as facts)
    /// are relative to: this run's directory, or the cache entry a shared upstream step used.
    public func upstreamRoot(step: String) throws -> URL {
        guard upstreamOutputs[step] != nil, let root = upstreamRoots[step] else {
            throw PipelineError.io("step '\(stepName)' asks for the outputs of '\(step)', which is not its upstream")
        }
        return root
    }

    /// The final location of a named output of an upstream step.
    public func upstreamFile(step: String, name: String) throws -> URL {
        guard let path = upstreamOutputs[step]?.files[name] else {
            throw PipelineError.io("step '\(stepName)' asks for output '\(name)' of '\(step)', which has none")
        }
        return try OutputPath.resolve(path, under: try upstreamRoot(step: step), step: step)
    }

    /// A line the user must see (never dropped by the progress rate limit): what a step decided,
    /// what it restored or kept.
    public func note(_ message: String) {
        reporter.stepWaiting(stepName, message: message)
    }

    /// Reports how far the step is (`fraction` in 0...1 when known) with a short human message.
    public func progress(_ fraction: Double?, _ message: String) {
        reporter.progress(stepName, fraction: fraction, message: message)
    }
}
