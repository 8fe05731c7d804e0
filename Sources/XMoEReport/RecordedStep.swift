import Foundation

/// The fields of a `steps/<step>.json` record (XMoEPipeline's `StepRecord`) a report needs.
/// Decoded here rather than imported: Report sits beside Pipeline, not above it.
public struct RecordedStep: Sendable, Equatable, Decodable {
    public enum Status: String, Sendable, Decodable {
        case complete, running, failed, interrupted
    }

    public var step: String
    public var status: Status
    public var startedAt: Date
    public var finishedAt: Date?
    /// Wall time of the latest execution only: each execution rewrites the record.
    public var durationSeconds: Double?
    /// Why the latest execution happened ("never run", "previous run did not complete (…)", …).
    public var reason: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case step, status, reason, error
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case durationSeconds = "duration_seconds"
    }

    public init(step: String, status: Status, startedAt: Date, finishedAt: Date? = nil,
                durationSeconds: Double? = nil, reason: String? = nil, error: String? = nil) {
        self.step = step
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationSeconds = durationSeconds
        self.reason = reason
        self.error = error
    }

    /// True when this execution followed one that did not finish (interrupted, killed or failed):
    /// that earlier execution's time is lost from the record.
    public var followsUnfinishedExecution: Bool {
        guard let reason else { return false }
        return reason.contains("previous run did not complete") || reason.contains("previous run failed")
    }

    /// Every record under `runDirectory/steps/`, keyed by step name; empty when there is no `steps/`.
    public static func loadAll(runDirectory: URL) throws -> [String: RecordedStep] {
        let directory = runDirectory.appendingPathComponent("steps", isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [:] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var records: [String: RecordedStep] = [:]
        for name in names.sorted() where name.hasSuffix(".json") {
            let path = directory.appendingPathComponent(name).path
            do {
                let record = try decoder.decode(RecordedStep.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                records[record.step] = record
            } catch {
                throw ReportError.malformedStepRecord(path: path, detail: "\(error)")
            }
        }
        return records
    }
}
