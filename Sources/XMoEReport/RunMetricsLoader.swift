import Foundation
import XMoESpec
import XMoEStore

extension RunMetrics {
    /// Reads `runDirectory/metrics.h5` and, when present, `runDirectory/spec.resolved.yaml`.
    ///
    /// The file may belong to a training process that is still running. xmoe's writer keeps it closed
    /// between steps and appends under HDF5's own flock, so the file is opened with HDF5's locking,
    /// retried for a moment while an append is under way. A file some other writer keeps open (HDF5's
    /// exclusive lock for good) is then opened without locking. Either way every table is cut to its
    /// shortest column (and the MoE layers to the train rows) so rows always line up.
    public static func load(runDirectory: URL) throws -> RunMetrics {
        let root = runDirectory.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError.missingRunDirectory(path: root)
        }
        let path = runDirectory.appendingPathComponent("metrics.h5").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReportError.missingMetrics(runDirectory: root)
        }
        let spec = try loadSpec(runDirectory: runDirectory)
        let file = try openLive(path)
        do {
            defer { try? file.close() }
            var train = try readTrain(file, path: path)
            var moeLayers = try readMoE(file, path: path)
            let rows = moeLayers.reduce(train.rowCount) { min($0, $1.droppedFraction.count, $1.tokensPerExpert.count) }
            train.columns = train.columns.mapValues { Array($0.prefix(rows)) }
            for i in moeLayers.indices {
                moeLayers[i].tokensPerExpert = Array(moeLayers[i].tokensPerExpert.prefix(rows))
                moeLayers[i].droppedFraction = Array(moeLayers[i].droppedFraction.prefix(rows))
            }
            var metrics = RunMetrics(runDirectory: runDirectory, spec: spec, train: train, eval: try readEval(file),
                                     moeLayers: moeLayers)
            metrics.checkpoints = try readCheckpoints(file)
            for name in ["run_name", "spec_hash", "xmoe_version", "xmoe_commit"]
            where try file.root.attributes.contains(name) {
                metrics.provenance[name] = try file.root.attributes.string(name)
            }
            return metrics
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.malformedMetrics(path: path, detail: "\(error)")
        }
    }

    /// Opens with HDF5's file locking, retrying for up to a second (a live writer's append takes
    /// milliseconds); then without it.
    private static func openLive(_ path: String) throws -> StoreFile {
        for _ in 0..<50 {
            if let file = try? StoreFile.open(at: path, mode: .readOnly) { return file }
            usleep(20_000)
        }
        do {
            return try StoreFile.open(at: path, mode: .readOnly, fileLocking: false)
        } catch {
            throw ReportError.unreadableMetrics(path: path, detail: "\(error)")
        }
    }

    private static func readCheckpoints(_ file: StoreFile) throws -> [(step: Double, seconds: Double)] {
        guard try file.exists("/checkpoint/step"), try file.exists("/checkpoint/seconds") else { return [] }
        let steps = try file.series("/checkpoint/step", of: Double.self).readAll().values
        let seconds = try file.series("/checkpoint/seconds", of: Double.self).readAll().values
        return zip(steps, seconds).map { ($0, $1) }
    }

    /// `spec.resolved.yaml` of the run, or `nil` when the directory has none.
    static func loadSpec(runDirectory: URL) throws -> ExperimentSpec? {
        let path = runDirectory.appendingPathComponent("spec.resolved.yaml").path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try ExperimentSpec.load(file: path)
        } catch {
            throw ReportError.malformedSpec(path: path, detail: "\(error)")
        }
    }

    private static func readTrain(_ file: StoreFile, path: String) throws -> TrainMetrics {
        var columns: [String: [Double]] = [:]
        var units: [String: String] = [:]
        for name in TrainMetrics.columnNames {
            let seriesPath = "/train/\(name)"
            guard try file.exists(seriesPath) else {
                throw ReportError.malformedMetrics(path: path, detail: "\(seriesPath) is missing (not written by MetricsWriter?)")
            }
            let series = try file.series(seriesPath, of: Double.self)
            columns[name] = try series.readAll().values
            if try series.attributes.contains("units") { units[name] = try series.attributes.string("units") }
        }
        for name in TrainMetrics.optionalColumnNames where try file.exists("/train/\(name)") {
            let series = try file.series("/train/\(name)", of: Double.self)
            columns[name] = try series.readAll().values
            if try series.attributes.contains("units") { units[name] = try series.attributes.string("units") }
        }
        let rows = columns.values.map(\.count).min() ?? 0
        return TrainMetrics(columns: columns.mapValues { Array($0.prefix(rows)) }, units: units)
    }

    private static func readEval(_ file: StoreFile) throws -> EvalMetrics {
        func column(_ name: String) throws -> [Double] {
            try file.exists("/eval/\(name)") ? try file.series("/eval/\(name)", of: Double.self).readAll().values : []
        }
        let step = try column("step"), loss = try column("loss"), perplexity = try column("perplexity")
        let rows = min(step.count, loss.count, perplexity.count)
        return EvalMetrics(step: Array(step.prefix(rows)), loss: Array(loss.prefix(rows)),
                           perplexity: Array(perplexity.prefix(rows)))
    }

    private static func readMoE(_ file: StoreFile, path: String) throws -> [MoELayerMetrics] {
        guard try file.exists("/moe") else { return [] }
        var layers: [MoELayerMetrics] = []
        for name in try file.group("/moe").children() {
            guard name.hasPrefix("layer_"), let layer = Int(name.dropFirst("layer_".count)) else {
                throw ReportError.malformedMetrics(path: path, detail: "/moe/\(name) is not named layer_NN")
            }
            let counts = try file.series("/moe/\(name)/tokens_per_expert", of: Int64.self).rows()
            let dropped = try file.series("/moe/\(name)/dropped_fraction", of: Double.self).readAll().values
            let rows = min(counts.count, dropped.count)
            layers.append(MoELayerMetrics(layer: layer, tokensPerExpert: Array(counts.prefix(rows)),
                                          droppedFraction: Array(dropped.prefix(rows))))
        }
        return layers.sorted { $0.layer < $1.layer }
    }
}
