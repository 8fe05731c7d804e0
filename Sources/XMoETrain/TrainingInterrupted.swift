import Foundation
import XMoEStore

/// Thrown by `Trainer.run()` when `shouldStop` asked it to stop: every step up to `step` is whole.
public struct TrainingInterrupted: Error, CustomStringConvertible {
    public let step: Int
    public var description: String { "training stopped after step \(step) on request (signal)" }
}

/// How much training history a metrics file holds, without the writer (which would create it).
enum MetricsHistory {
    /// Rows of /train/step at or before `step`, and why there are none when the file is missing or
    /// unreadable.
    static func rows(of url: URL, upToStep step: Int) -> (rows: Int, problem: String?) {
        guard FileManager.default.fileExists(atPath: url.path) else { return (0, "is missing") }
        do {
            let file = try StoreFile.open(at: url.path, fileLocking: false)
            defer { try? file.close() }
            let steps = try file.series("/train/step", of: Double.self).readAll().values
            return (steps.filter { $0 <= Double(step) }.count, nil)
        } catch {
            return (0, "cannot be read (\(error))")
        }
    }
}
