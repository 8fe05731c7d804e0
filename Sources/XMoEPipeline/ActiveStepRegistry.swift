import Foundation

/// The steps whose `running` record is on disk right now, so a signal handler can mark them
/// `interrupted`: each with every file holding its record (a shared step has two, its cache entry's
/// and the run directory's). Record writes at a step's end happen under the same lock as the
/// handler's, so a step is recorded either complete/failed or interrupted, never one overwriting the other.
final class ActiveStepRegistry: @unchecked Sendable {
    static let shared = ActiveStepRegistry()

    private let lock = NSLock()
    private var active: [UInt64: [(url: URL, record: StepRecord)]] = [:]
    private var nextID: UInt64 = 0

    /// Registers the step and runs `writeRunningRecord` while no handler can interleave: a signal is
    /// handled either before (nothing of the step is on disk yet) or after (the record is marked
    /// interrupted), never in the middle of the write.
    func begin(_ records: [(url: URL, record: StepRecord)], writeRunningRecord: () throws -> Void) throws -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        try writeRunningRecord()
        nextID += 1
        active[nextID] = records
        return nextID
    }

    /// Removes the step and runs `writeFinalRecord` while no handler can interleave.
    func finish(_ id: UInt64, writeFinalRecord: () throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        active[id] = nil
        try writeFinalRecord()
    }

    /// Marks every active step interrupted just before the process ends, and keeps the lock, so no
    /// step can record itself complete in between.
    func interruptAll(signal: Int32) {
        lock.lock()
        let now = Date()
        for (url, running) in active.values.flatMap({ $0 }) {
            var record = running
            Self.markInterrupted(&record, signal: signal, at: now)
            do {
                try RecordFile.write(record, to: url)
                writeStandardError(
                    "xmoe: \(signalName(signal)) during step '\(record.step)'; recorded as interrupted in "
                        + "\(url.path)\n")
            } catch {
                writeStandardError("xmoe: could not record step '\(record.step)' as interrupted: \(error)\n")
            }
        }
        active = [:]
    }

    static func markInterrupted(_ record: inout StepRecord, signal: Int32, at now: Date) {
        record.status = .interrupted
        record.finishedAt = now
        record.durationSeconds = now.timeIntervalSince(record.startedAt)
        record.error = "interrupted by \(signalName(signal))"
        record.outputs = nil
    }
}

func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    case SIGHUP: return "SIGHUP"
    default: return "signal \(signal)"
    }
}

func writeStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
