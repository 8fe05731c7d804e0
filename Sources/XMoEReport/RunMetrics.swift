import Foundation
import XMoESpec

/// Everything `metrics.h5` of one run holds, plus its resolved spec when the run directory has one.
public struct RunMetrics: Sendable {
    public var runDirectory: URL
    /// `spec.resolved.yaml`, or `nil` when absent (a run started by hand, or an older layout).
    public var spec: ExperimentSpec?
    public var train: TrainMetrics
    public var eval: EvalMetrics
    /// `/checkpoint/*`: (step, seconds the save took) of each checkpoint; empty for older files.
    public var checkpoints: [(step: Double, seconds: Double)] = []
    /// Root attributes of metrics.h5 (`run_name`, `spec_hash`, `xmoe_version`, `xmoe_commit`) that it has.
    public var provenance: [String: String] = [:]
    /// MoE layers in model-layer order.
    public var moeLayers: [MoELayerMetrics]

    public init(runDirectory: URL, spec: ExperimentSpec?, train: TrainMetrics, eval: EvalMetrics,
                moeLayers: [MoELayerMetrics]) {
        self.runDirectory = runDirectory
        self.spec = spec
        self.train = train
        self.eval = eval
        self.moeLayers = moeLayers
    }

    /// Tokens one optimizer step consumes: `train.global_batch × model.seq_length` (every rank's
    /// micro-batches together); `nil` without a spec.
    public var tokensPerStep: Int? {
        guard let spec, let batch = spec.values.int("train.global_batch"),
              let sequence = spec.values.int("model.seq_length") else { return nil }
        return batch * sequence
    }

    /// Tokens seen after each training row (`step × tokensPerStep`), the x axis of loss-vs-tokens curves.
    public var trainTokens: [Double]? {
        tokensPerStep.map { perStep in train.step.map { $0 * Double(perStep) } }
    }

    /// Tokens seen at each evaluation.
    public var evalTokens: [Double]? {
        tokensPerStep.map { perStep in eval.step.map { $0 * Double(perStep) } }
    }
}

/// `/train/*`: one row per optimizer step, every column as stored (Double).
public struct TrainMetrics: Sendable, Equatable {
    /// Column names in MetricsWriter's order.
    public static let columnNames = ["step", "loss", "lm_loss", "aux_loss", "lr", "grad_norm",
                                     "tokens_per_s", "flops_per_s", "skipped"]
    /// Columns later writers added; read when present (a file from an older xmoe lacks them).
    public static let optionalColumnNames = ["z_loss", "elapsed_s"]

    /// Column name → values; every column has `rowCount` values.
    public var columns: [String: [Double]]
    /// `units` attribute of each column, as the writer stored it.
    public var units: [String: String]

    public init(columns: [String: [Double]], units: [String: String] = [:]) {
        self.columns = columns
        self.units = units
    }

    public subscript(_ name: String) -> [Double]? { columns[name] }

    public var rowCount: Int { columns["step"]?.count ?? 0 }
    public var step: [Double] { columns["step"] ?? [] }
    public var loss: [Double] { columns["loss"] ?? [] }
    public var lmLoss: [Double] { columns["lm_loss"] ?? [] }
    public var auxLoss: [Double] { columns["aux_loss"] ?? [] }
    public var lr: [Double] { columns["lr"] ?? [] }
    public var gradNorm: [Double] { columns["grad_norm"] ?? [] }
    public var tokensPerSecond: [Double] { columns["tokens_per_s"] ?? [] }
    public var flopsPerSecond: [Double] { columns["flops_per_s"] ?? [] }
    public var skipped: [Double] { columns["skipped"] ?? [] }
    /// Wall-clock seconds of training at the end of each step, over every session; empty when absent.
    public var elapsedSeconds: [Double] { columns["elapsed_s"] ?? [] }
}

/// `/eval/*`: one row per evaluation.
public struct EvalMetrics: Sendable, Equatable {
    public var step: [Double]
    public var loss: [Double]
    public var perplexity: [Double]

    public init(step: [Double], loss: [Double], perplexity: [Double]) {
        self.step = step
        self.loss = loss
        self.perplexity = perplexity
    }

    public var rowCount: Int { step.count }
}

/// `/moe/layer_NN/*` of one MoE layer.
public struct MoELayerMetrics: Sendable, Equatable {
    /// Model layer index (the NN of `layer_NN`).
    public var layer: Int
    /// `[steps][E]`: token slots routed to each global expert, before dropping.
    public var tokensPerExpert: [[Int64]]
    /// `[steps]`: share of routed slots dropped by the capacity limit.
    public var droppedFraction: [Double]

    public init(layer: Int, tokensPerExpert: [[Int64]], droppedFraction: [Double]) {
        self.layer = layer
        self.tokensPerExpert = tokensPerExpert
        self.droppedFraction = droppedFraction
    }

    public var experts: Int { tokensPerExpert.first?.count ?? 0 }
}
