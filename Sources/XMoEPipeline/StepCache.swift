import Foundation

/// Content-addressed home of shared steps, common to many run directories (the points of a sweep):
/// `<root>/<step>/<first 16 hex of the key>/` holds `record.json` and the step's outputs, at paths
/// relative to that entry. Any run whose step has the same key finds and reuses the entry.
public struct StepCache: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public func entry(step: String, key: String) -> CacheEntry {
        CacheEntry(
            directory: root.appendingPathComponent(step, isDirectory: true)
                .appendingPathComponent(String(key.prefix(16)), isDirectory: true))
    }
}

/// One shared step execution's directory; `<directory>.lock` serializes the runs that make it.
public struct CacheEntry: Sendable, Equatable {
    public let directory: URL

    public var recordURL: URL { directory.appendingPathComponent("record.json") }

    public var lockURL: URL {
        directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent).lock")
    }

    public func readRecord() throws -> StepRecord? {
        try RecordFile.read(recordURL)
    }

    /// The record when it is complete for `key` with every output file present, else nil.
    func usableRecord(key: String, step: String) throws -> StepRecord? {
        guard let record = try readRecord(), record.status == .complete, record.key == key,
            OutputPath.missing(record.outputs ?? StepOutputs(), under: directory, step: step).isEmpty
        else { return nil }
        return record
    }
}
