import Foundation
import XMoEPipeline
import XMoESpec

/// Every file a run will read, checked before `xmoe run` writes anything: a missing or unreadable
/// input must fail the run while the run directory (spec, records, checkpoints) is still untouched.
enum InputFiles {
    /// The problems, one line each (key, path, what is wrong); empty when every input is there.
    /// Only files the steps that will run read are checked (a cached prepare-data needs no corpus).
    static func problems(_ spec: ExperimentSpec, plans: [StepPlan]) -> [String] {
        let runs = Set(plans.filter { $0.status != .upToDate }.map(\.step))
        let v = spec.values
        var files: [(key: String, path: String)] = []
        if runs.contains("prepare-data") {
            for key in ["data.input", "data.vocab_file", "data.merge_file"] {
                if let path = v.string(key) { files.append((key, path)) }
            }
        }
        if runs.contains("train"), let prefix = v.string("data.prefix") {
            files += [("data.prefix", prefix + ".bin"), ("data.prefix", prefix + ".idx")]
        }
        return files.compactMap { key, path in problem(path).map { "\(key): \(path) \($0)" } }
    }

    static func problem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        guard FileManager.default.isReadableFile(atPath: path) else { return "is not readable" }
        return nil
    }
}
