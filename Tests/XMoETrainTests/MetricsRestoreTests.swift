import Foundation
import Testing
import XMoEStore
import XMoETrain

/// A metrics.h5 deleted, emptied, cut to zero rows or left unreadable between runs loses no history:
/// resume brings back the copy the checkpoint keeps, and the continued run ends with the rows of an
/// uninterrupted one (compared bit for bit).
struct MetricsRestoreTests {
    enum Damage: String, CaseIterable {
        case deleted, emptied, noRows, garbage
    }

    func apply(_ damage: Damage, to url: URL) throws {
        switch damage {
        case .deleted:
            try FileManager.default.removeItem(at: url)
        case .emptied:
            try Data().write(to: url)
        case .noRows:
            // A valid file whose series hold nothing: the schema alone, as a fresh writer leaves it.
            try FileManager.default.removeItem(at: url)
            let file = try StoreFile.create(at: url.path)
            _ = try file.createSeries("/train/step", of: Double.self)
            try file.close()
        case .garbage:
            try Data(repeating: 0x5a, count: 4096).write(to: url)
        }
    }

    @Test(arguments: Damage.allCases)
    func damagedMetricsAreRestoredFromTheCheckpoint(_ damage: Damage) throws {
        let dir = try TemporaryDirectory()
        let reference = try ResumeTests.trainer(dir.url.appendingPathComponent("uninterrupted"))
        try reference.run()

        let runDir = dir.url.appendingPathComponent("damaged")
        try ResumeTests.trainer(runDir, steps: 6).run()
        try apply(damage, to: runDir.appendingPathComponent("metrics.h5"))
        let resumed = try ResumeTests.trainer(runDir)
        #expect(try resumed.resume() == 6)
        let notes = resumed.resumeNotes.joined(separator: "\n")
        #expect(notes.contains("restored the copy kept in step_000006"), "\(notes)")
        try resumed.run()
        let got = try ResumeTests().series(resumed.metricsURL), want = try ResumeTests().series(reference.metricsURL)
        #expect(want["/train/step"]?.count == ResumeTests.steps)
        for name in want.keys.sorted() { #expect(got[name] == want[name], "\(damage) \(name)") }
    }
}
