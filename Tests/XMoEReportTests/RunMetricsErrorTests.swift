import Foundation
import Testing
import XMoEReport

@Suite("RunMetrics errors name the path and what to do")
struct RunMetricsErrorTests {
    @Test func missingMetricsSaysToRunTheTrainStep() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let error = try #require(throws: ReportError.self) { try RunMetrics.load(runDirectory: fixture.run) }
        #expect(error == .missingMetrics(runDirectory: fixture.run.path))
        #expect(error.description == "\(fixture.run.path) has no metrics.h5: has its train step run? (`xmoe run …`)")
    }

    @Test func missingDirectoryIsNamed() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-report-absent-\(UUID())")
        let error = try #require(throws: ReportError.self) { try RunSummary.load(runDirectory: missing) }
        #expect(error == .missingRunDirectory(path: missing.path))
        #expect(error.description.hasPrefix(missing.path))
    }

    @Test func notHDF5IsUnreadableMetrics() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let path = fixture.run.appendingPathComponent("metrics.h5").path
        try "not hdf5".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ReportError.self) { try RunMetrics.load(runDirectory: fixture.run) }
        guard case .unreadableMetrics(let reported, _) = error else {
            Issue.record("expected unreadableMetrics, got \(error)")
            return
        }
        #expect(reported == path)
    }

    @Test func corruptStepRecordIsNamed() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let path = fixture.run.appendingPathComponent("steps/train.json").path
        try "{\"step\": \"train\"".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ReportError.self) { try RunSummary.load(runDirectory: fixture.run) }
        #expect(error.description.hasPrefix(path))
    }
}

extension RunMetricsErrorTests {
    @Test func metricsWithoutTrainSeriesAreMalformed() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let path = fixture.run.appendingPathComponent("metrics.h5").path
        _ = try runPython("import h5py, sys; h5py.File(sys.argv[1], 'w').create_group('eval')", [path])
        let error = try #require(throws: ReportError.self) { try RunMetrics.load(runDirectory: fixture.run) }
        #expect(error.description.hasPrefix(path) && error.description.contains("/train/step is missing"))
    }
}
