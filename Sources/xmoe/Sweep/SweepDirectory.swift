import Foundation
import XMoEBase
import XMoESpec

/// `<output.dir>/<sweep>/`: one run directory per point, the points' resolved specs under `points/`
/// (what each run, local or Slurm task, is started with), `sweep.json` naming the points and their
/// varied values (for `xmoe report` and the summary), and the summary files.
struct SweepDirectory {
    let root: URL

    init(sweep: SweepSpec) {
        root = URL(fileURLWithPath: sweep.outputDirectory, isDirectory: true)
    }

    init(root: URL) {
        self.root = root
    }

    var pointsDirectory: URL { root.appendingPathComponent("points", isDirectory: true) }
    var manifest: URL { root.appendingPathComponent("sweep.json") }
    var summaryMarkdown: URL { root.appendingPathComponent("summary.md") }
    var summaryCSV: URL { root.appendingPathComponent("summary.csv") }
    var summaryHDF5: URL { root.appendingPathComponent("summary.h5") }
    var slurmDirectory: URL { root.appendingPathComponent("slurm", isDirectory: true) }

    func pointSpec(_ name: String) -> URL { pointsDirectory.appendingPathComponent("\(name).yaml") }
    func runDirectory(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }

    func writePointSpecs(_ sweep: SweepSpec) throws {
        try FileManager.default.createDirectory(at: pointsDirectory, withIntermediateDirectories: true)
        for point in sweep.points {
            try AtomicWrite.write(point.spec.resolvedDocument, to: pointSpec(point.name))
        }
        let manifest = SweepManifest(
            name: sweep.name, files: sweep.files, variedKeys: sweep.variedKeys,
            points: sweep.points.map { point in
                SweepManifest.Point(name: point.name, values: point.assignments.map { [$0.key, $0.value] })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(String(decoding: try encoder.encode(manifest), as: UTF8.self) + "\n", to: self.manifest)
    }

    func readManifest() throws -> SweepManifest {
        try JSONDecoder().decode(SweepManifest.self, from: Data(contentsOf: manifest))
    }
}

/// `sweep.json`: the points of a sweep in order, each with its varied values as [key, value] pairs.
struct SweepManifest: Codable {
    struct Point: Codable {
        var name: String
        var values: [[String]]
    }

    var name: String
    var files: [String]
    var variedKeys: [String]
    var points: [Point]

    enum CodingKeys: String, CodingKey {
        case name, files, points
        case variedKeys = "varied_keys"
    }
}
