import Foundation

/// `runs/<name>/`: step records under `steps/`, step outputs at paths relative to the root.
public struct RunDirectory: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public var stepsDirectory: URL { root.appendingPathComponent("steps", isDirectory: true) }

    public func recordURL(step: String) -> URL {
        stepsDirectory.appendingPathComponent("\(step).json")
    }

    public func readRecord(step: String) throws -> StepRecord? {
        try RecordFile.read(recordURL(step: step))
    }

    public func writeRecord(_ record: StepRecord) throws {
        try RecordFile.write(record, to: recordURL(step: record.step))
    }

    /// Resolves an output path, refusing anything that would escape the run directory.
    public func outputURL(_ relativePath: String, step: String) throws -> URL {
        try OutputPath.resolve(relativePath, under: root, step: step)
    }

    /// Where an output lives while its step writes it; `StepContext.commit` renames it into place.
    public func temporaryOutputURL(_ relativePath: String, step: String) throws -> URL {
        try OutputPath.temporary(relativePath, under: root, step: step)
    }

    /// Takes `<root>/.lock` so no second xmoe process works in this run directory at the same time.
    public func lock() throws -> RunLock {
        try RunLock(runDirectory: self)
    }
}
