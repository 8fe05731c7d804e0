import Foundation
import XMoEStore

/// Appends one row per step to `metrics.h5`: /train/*, /eval/* (steps that evaluated) and
/// /moe/layer_NN/* (MoE layers, by model layer index). Every series carries `units` and
/// `description` attributes. The file is flushed after every step so a killed run leaves the rows
/// it finished.
public final class MetricsWriter {
    public let path: String
    private let file: StoreFile
    private let moeLayers: [Int]
    private let experts: Int

    static let trainSeries: [(name: String, units: String, meaning: String)] = [
        ("step", "steps", "1-based training step"),
        ("loss", "nats/token", "total loss: lm + aux_coeff·aux + z_coeff·z, mean over micro-batches"),
        ("lm_loss", "nats/token", "language-model cross-entropy, mean over micro-batches"),
        ("aux_loss", "1", "load-balancing loss summed over MoE layers, unscaled, mean over micro-batches"),
        ("lr", "1", "learning rate of this step's update"),
        ("grad_norm", "1", "global L2 norm of the gradients before clipping"),
        ("tokens_per_s", "tokens/s", "training tokens processed per wall-clock second in this step"),
        ("flops_per_s", "FLOP/s", "achieved training FLOP/s (ModelSize.trainingFLOPsPerToken × tokens/s)"),
        ("skipped", "1", "1 when the update was skipped for a non-finite loss or gradient, else 0"),
    ]

    /// Opens `path` (creating it, and its series, when absent).
    public init(path: String, moeLayers: [Int], experts: Int) throws {
        self.path = path
        self.moeLayers = moeLayers
        self.experts = experts
        let exists = FileManager.default.fileExists(atPath: path)
        file = exists ? try StoreFile.open(at: path, mode: .readWrite) : try StoreFile.create(at: path)
        for s in Self.trainSeries {
            try declare("/train/\(s.name)", Double.self, width: nil, units: s.units, meaning: s.meaning)
        }
        try declare("/eval/step", Double.self, width: nil, units: "steps", meaning: "training step after which the evaluation ran")
        try declare("/eval/loss", Double.self, width: nil, units: "nats/token", meaning: "validation LM loss, mean over eval micro-batches")
        try declare("/eval/perplexity", Double.self, width: nil, units: "1", meaning: "exp(validation loss)")
        for layer in moeLayers {
            try declare("\(Self.moeGroup(layer))/tokens_per_expert", Int64.self, width: experts, units: "slots",
                        meaning: "row per step: token slots the router sent to each global expert (before dropping)")
            try declare("\(Self.moeGroup(layer))/dropped_fraction", Double.self, width: nil, units: "1",
                        meaning: "row per step: share of routed slots dropped by the capacity limit")
        }
        try CommMetrics.declare(in: file)
        try file.flush()
    }

    deinit { try? file.close() }

    public static func moeGroup(_ layer: Int) -> String {
        let digits = String(layer)
        return "/moe/layer_" + String(repeating: "0", count: max(0, 2 - digits.count)) + digits
    }

    private func declare<T: StoreElement>(_ path: String, _ type: T.Type, width: Int?, units: String, meaning: String) throws {
        let series = try file.openOrCreateSeries(path, of: type, rowWidth: width)
        try series.attributes.set("units", .string(units))
        try series.attributes.set("description", .string(meaning))
    }

    public func append(_ r: StepReport) throws {
        let values: [Double] = [Double(r.step), r.loss, r.lmLoss, r.auxLoss, r.lr, r.gradNorm,
                                r.tokensPerSecond, r.flopsPerSecond, r.skipped ? 1 : 0]
        for (s, value) in zip(Self.trainSeries, values) {
            try file.series("/train/\(s.name)", of: Double.self).append(value)
        }
        for (i, layer) in moeLayers.enumerated() {
            let counts = i < r.tokensPerExpert.count ? r.tokensPerExpert[i].map(Int64.init) : [Int64](repeating: 0, count: experts)
            try file.series("\(Self.moeGroup(layer))/tokens_per_expert", of: Int64.self).append(row: counts)
            try file.series("\(Self.moeGroup(layer))/dropped_fraction", of: Double.self)
                .append(i < r.droppedFraction.count ? r.droppedFraction[i] : 0)
        }
        try CommMetrics.append(r, to: file)
        if let e = r.eval {
            try file.series("/eval/step", of: Double.self).append(Double(e.step))
            try file.series("/eval/loss", of: Double.self).append(e.loss)
            try file.series("/eval/perplexity", of: Double.self).append(e.perplexity)
        }
        try file.flush()
    }

    /// Drops every row after `step` (resume: the rows a killed run wrote past its checkpoint).
    public func truncate(toStep step: Int) throws {
        let trainRows = try file.series("/train/step", of: Double.self).readAll().values.filter { $0 <= Double(step) }.count
        for s in Self.trainSeries { try file.series("/train/\(s.name)", of: Double.self).truncate(toCount: trainRows) }
        for layer in moeLayers {
            try file.series("\(Self.moeGroup(layer))/tokens_per_expert", of: Int64.self).truncate(toCount: trainRows)
            try file.series("\(Self.moeGroup(layer))/dropped_fraction", of: Double.self).truncate(toCount: trainRows)
        }
        try CommMetrics.truncate(file, toCount: trainRows)
        let evalRows = try file.series("/eval/step", of: Double.self).readAll().values.filter { $0 <= Double(step) }.count
        for name in ["step", "loss", "perplexity"] {
            try file.series("/eval/\(name)", of: Double.self).truncate(toCount: evalRows)
        }
        try file.flush()
    }

    public func flush() throws { try file.flush() }
    public func close() throws { try file.close() }
}
