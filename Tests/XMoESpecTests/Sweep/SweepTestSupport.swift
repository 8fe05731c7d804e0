import Foundation
@testable import XMoESpec

/// A base spec small enough to be valid with any of the sweeps the tests write.
let sweepBaseSpec = """
    name: base
    model:
      layers: 2
      hidden: 64
      heads: 4
    moe:
      num_experts: 8
      top_k: 2
    train:
      iters: 100
      lr: 3.0e-3
      min_lr: 1.0e-5
    output:
      dir: out/runs

    """

extension SpecDirectory {
    /// Writes `base.yaml` and `sweeps/<name>` (which extends `../base.yaml`, testing that
    /// `extends` is relative to the sweep file) and returns the sweep file's path.
    @discardableResult
    func writeSweep(_ body: String, as name: String = "grid.yaml") throws -> String {
        try FileManager.default.createDirectory(at: url.appendingPathComponent("sweeps"), withIntermediateDirectories: true)
        try write("base.yaml", sweepBaseSpec)
        return try write("sweeps/\(name)", "extends: ../base.yaml\n" + body)
    }

    func sweep(_ name: String = "grid.yaml", _ overrides: [String] = []) throws -> SweepSpec {
        try SweepSpec.load(file: url.appendingPathComponent("sweeps/\(name)").path, overrides: overrides)
    }

    func sweepErrors(_ name: String = "grid.yaml", _ overrides: [String] = []) -> [SpecError] {
        do {
            _ = try sweep(name, overrides)
            return []
        } catch let e as SpecErrors {
            return e.errors
        } catch {
            return [SpecError("\(error)")]
        }
    }

    /// `path:line:col` of the first occurrence of `needle` in the sweep file, found by a text
    /// search of what the test wrote (1-based, as YAML marks are).
    func position(of needle: String, in name: String = "grid.yaml", occurrence: Int = 1) throws -> String {
        let path = url.appendingPathComponent("sweeps/\(name)").standardizedFileURL.path
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        var seen = 0
        for (index, line) in lines.enumerated() {
            var searchFrom = line.startIndex
            while let range = line.range(of: needle, range: searchFrom..<line.endIndex) {
                seen += 1
                if seen == occurrence {
                    return "\(path):\(index + 1):\(line.distance(from: line.startIndex, to: range.lowerBound) + 1)"
                }
                searchFrom = range.upperBound
            }
        }
        return "\(needle) not found"
    }
}
