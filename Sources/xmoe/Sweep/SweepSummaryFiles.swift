import Foundation
import XMoEBase
import XMoEReport
import XMoESpec

/// `summary.md`, `summary.csv` and `summary.h5` of a sweep: one row per point, its varied values and the
/// numbers read back from its run directory (metrics.h5, step records). Rewritten whenever a point
/// finishes, so a sweep stopped half-way still has the table of what it did.
enum SweepSummaryFiles {
    static func table(sweep: SweepSpec, directory: SweepDirectory, outcomes: [SweepRunner.PointOutcome]) -> SweepTable {
        let rows = sweep.points.map { point -> SweepTable.Row in
            let runDirectory = directory.runDirectory(point.name)
            var summary = (try? RunSummary.load(runDirectory: runDirectory))
                ?? RunSummary(name: point.name, metrics: nil, records: [:], spec: point.spec)
            // A point refused before any step started (memory check, crash at start) has no record saying so.
            if case .failed(let error)? = outcomes.first(where: { $0.name == point.name })?.result,
               summary.status == .notStarted || summary.status == .complete {
                summary.status = .failed(step: "start", error: error)
            }
            var values: [String: String] = [:]
            for assignment in point.assignments { values[assignment.key] = SweepTableText.unquoted(assignment.value) }
            return SweepTable.Row(point: point.name, values: values, summary: summary)
        }
        return SweepTable(keys: sweep.variedKeys, rows: rows)
    }

    static func write(sweep: SweepSpec, directory: SweepDirectory, outcomes: [SweepRunner.PointOutcome]) throws {
        let table = table(sweep: sweep, directory: directory, outcomes: outcomes)
        try FileManager.default.createDirectory(at: directory.root, withIntermediateDirectories: true)
        try AtomicWrite.write("# Sweep \(sweep.name)\n\n" + table.markdown(), to: directory.summaryMarkdown)
        try AtomicWrite.write(table.csv(), to: directory.summaryCSV)
        try table.writeHDF5(path: directory.summaryHDF5.path)
    }
}
