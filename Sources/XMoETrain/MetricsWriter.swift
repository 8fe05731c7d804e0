import Foundation
import XMoEBase
import XMoEStore

/// Appends one row per step to `metrics.h5`: /train/*, /eval/* (steps that evaluated), /checkpoint/*
/// (steps that saved one) and /moe/layer_NN/* (MoE layers, by model layer index). Every series
/// carries `units` and `description` attributes; root attributes name the run, its spec hash and the
/// xmoe that wrote it (`Provenance`).
///
/// Live reading: the file is open only while rows are appended (open, append, close), under the
/// exclusive flock HDF5's readers respect (`MetricsFileLock`). Between steps it is a closed,
/// consistent HDF5 file that h5py (`h5py.File(path, "r")`), h5dump and `xmoe report` open with their
/// default settings. While a reader keeps it open, rows wait in memory and go out with the next step
/// whose append finds the file free (and at most every `writeInterval`), so a reader never slows
/// training; checkpoints and `close()` wait
/// (up to `forcedWaitSeconds`) so that what they copy or leave behind is complete.
public final class MetricsWriter {
    public let path: String
    private let moeLayers: [Int]
    private let experts: Int
    private var pendingSteps: [StepReport] = []
    private var pendingCheckpoints: [(step: Int, seconds: Double)] = []
    /// How long a forced write waits for readers to close the file before appending anyway.
    public var forcedWaitSeconds = 10.0
    /// Rows are written at most this often (seconds), so that a fast run does not spend its time
    /// opening the file: opening, appending and closing costs milliseconds per write.
    public var writeInterval = 1.0
    private var lastWrite = Date.distantPast

    /// One `/train/<name>` column: one value per step. Adding a series is one line here.
    struct Column: Sendable {
        let name: String
        let units: String
        let meaning: String
        let value: @Sendable (StepReport) -> Double
    }

    static let trainColumns: [Column] = [
        Column(name: "step", units: "steps", meaning: "1-based training step") { Double($0.step) },
        Column(name: "loss", units: "nats/token",
               meaning: "total loss: lm + aux_coeff·aux + z_coeff·z, mean over micro-batches") { $0.loss },
        Column(name: "lm_loss", units: "nats/token", meaning: "language-model cross-entropy, mean over micro-batches") { $0.lmLoss },
        Column(name: "aux_loss", units: "1",
               meaning: "load-balancing loss summed over MoE layers, unscaled, mean over micro-batches") { $0.auxLoss },
        Column(name: "lr", units: "1", meaning: "learning rate of this step's update") { $0.lr },
        Column(name: "grad_norm", units: "1", meaning: "global L2 norm of the gradients before clipping") { $0.gradNorm },
        Column(name: "tokens_per_s", units: "tokens/s",
               meaning: "training tokens per second of this step's training work (evaluation and checkpoint time excluded)") { $0.tokensPerSecond },
        Column(name: "flops_per_s", units: "FLOP/s",
               meaning: "achieved training FLOP/s (ModelSize.trainingFLOPsPerToken × tokens/s)") { $0.flopsPerSecond },
        Column(name: "skipped", units: "1", meaning: "1 when the update was skipped for a non-finite loss or gradient, else 0") { $0.skipped ? 1 : 0 },
        Column(name: "z_loss", units: "1", meaning: "router z-loss summed over MoE layers, unscaled, mean over micro-batches") { $0.zLoss },
        Column(name: "elapsed_s", units: "s",
               meaning: "wall-clock seconds of training up to the end of this step, summed over the sessions of a resumed run") { $0.elapsedSeconds },
    ]

    static let evalColumns: [(name: String, units: String, meaning: String)] = [
        ("step", "steps", "training step after which the evaluation ran"),
        ("loss", "nats/token", "validation LM loss, mean over eval micro-batches"),
        ("perplexity", "1", "exp(validation loss)"),
        ("seconds", "s", "wall-clock seconds the evaluation took (not in the step's tokens/s)"),
    ]

    static let checkpointColumns: [(name: String, units: String, meaning: String)] = [
        ("step", "steps", "training step whose checkpoint was saved"),
        ("seconds", "s", "wall-clock seconds the save took (not in the step's tokens/s)"),
    ]

    /// Opens `path` (creating it when absent), declares every series and stamps the root attributes
    /// `run_name`, `spec_hash`, `xmoe_version`, `xmoe_commit` (this session's writer).
    public init(path: String, moeLayers: [Int], experts: Int, runName: String = "", specHash: String = "") throws {
        self.path = path
        self.moeLayers = moeLayers
        self.experts = experts
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists { try StoreFile.create(at: path).close() }
        try withFile(force: true) { file in
            for c in Self.trainColumns { try Self.declare(file, "/train/\(c.name)", Double.self, width: nil, c.units, c.meaning) }
            for c in Self.evalColumns { try Self.declare(file, "/eval/\(c.name)", Double.self, width: nil, c.units, c.meaning) }
            for c in Self.checkpointColumns { try Self.declare(file, "/checkpoint/\(c.name)", Double.self, width: nil, c.units, c.meaning) }
            for layer in moeLayers {
                try Self.declare(file, "\(Self.moeGroup(layer))/tokens_per_expert", Int64.self, width: experts, "slots",
                                 "row per step: token slots the router sent to each global expert (before dropping)")
                try Self.declare(file, "\(Self.moeGroup(layer))/dropped_fraction", Double.self, width: nil, "1",
                                 "row per step: share of routed slots dropped by the capacity limit")
            }
            try CommMetrics.declare(in: file)
            let root = file.root.attributes
            try root.set("run_name", .string(runName))
            try root.set("spec_hash", .string(specHash))
            try root.set("xmoe_version", .string(Provenance.version))
            try root.set("xmoe_commit", .string(Provenance.commit ?? "unknown"))
        }
    }

    public static func moeGroup(_ layer: Int) -> String {
        let digits = String(layer)
        return "/moe/layer_" + String(repeating: "0", count: max(0, 2 - digits.count)) + digits
    }

    private static func declare<T: StoreElement>(_ file: StoreFile, _ path: String, _ type: T.Type, width: Int?,
                                                 _ units: String, _ meaning: String) throws {
        let series = try file.openOrCreateSeries(path, of: type, rowWidth: width)
        try series.attributes.set("units", .string(units))
        try series.attributes.set("description", .string(meaning))
    }

    /// Queues the step's rows and writes every queued row when no reader holds the file.
    public func append(_ r: StepReport) throws {
        pendingSteps.append(r)
        if Date().timeIntervalSince(lastWrite) >= writeInterval { try writePending(force: false) }
    }

    /// Queues the row of a checkpoint saved after `step`, which took `seconds`.
    public func appendCheckpoint(step: Int, seconds: Double) throws {
        pendingCheckpoints.append((step, seconds))
        if Date().timeIntervalSince(lastWrite) >= writeInterval { try writePending(force: false) }
    }

    /// Writes every queued row, waiting for readers when `force` (checkpoints, close).
    public func writePending(force: Bool) throws {
        guard !pendingSteps.isEmpty || !pendingCheckpoints.isEmpty else { return }
        let steps = pendingSteps, checkpoints = pendingCheckpoints
        let wrote = try withFile(force: force) { file in
            for c in Self.trainColumns {
                try file.series("/train/\(c.name)", of: Double.self).append(rows: steps.map(c.value))
            }
            for (i, layer) in moeLayers.enumerated() {
                let counts = steps.flatMap { r in
                    i < r.tokensPerExpert.count ? r.tokensPerExpert[i].map(Int64.init) : [Int64](repeating: 0, count: experts)
                }
                try file.series("\(Self.moeGroup(layer))/tokens_per_expert", of: Int64.self).append(rows: counts)
                try file.series("\(Self.moeGroup(layer))/dropped_fraction", of: Double.self)
                    .append(rows: steps.map { i < $0.droppedFraction.count ? $0.droppedFraction[i] : 0 })
            }
            let evals = steps.compactMap(\.eval)
            let evalValues: [[Double]] = [evals.map { Double($0.step) }, evals.map(\.loss), evals.map(\.perplexity), evals.map(\.seconds)]
            for (c, values) in zip(Self.evalColumns, evalValues) {
                try file.series("/eval/\(c.name)", of: Double.self).append(rows: values)
            }
            try CommMetrics.append(steps, to: file)
            try file.series("/checkpoint/step", of: Double.self).append(rows: checkpoints.map { Double($0.step) })
            try file.series("/checkpoint/seconds", of: Double.self).append(rows: checkpoints.map(\.seconds))
        }
        if wrote {
            lastWrite = Date()
            pendingSteps.removeAll()
            pendingCheckpoints.removeAll()
        }
    }

    /// Drops every row after `step` (resume: the rows a killed run wrote past its checkpoint).
    /// Returns `/train/elapsed_s` of that step plus the checkpoint's save time (0 when unknown): where
    /// the resumed run's wall clock continues.
    @discardableResult
    public func truncate(toStep step: Int) throws -> Double {
        try writePending(force: true)
        var elapsed = 0.0
        try withFile(force: true) { file in
            let steps = try file.series("/train/step", of: Double.self).readAll().values
            let trainRows = steps.filter { $0 <= Double(step) }.count
            let elapsedColumn = try file.series("/train/elapsed_s", of: Double.self).readAll().values
            for c in Self.trainColumns {
                let series = try file.series("/train/\(c.name)", of: Double.self)
                // Files written before a column existed have fewer rows in it: pad so rows line up.
                let count = try series.count()
                if count < trainRows { try series.append(rows: [Double](repeating: .nan, count: trainRows - count)) }
                try series.truncate(toCount: trainRows)
            }
            for layer in moeLayers {
                try file.series("\(Self.moeGroup(layer))/tokens_per_expert", of: Int64.self).truncate(toCount: trainRows)
                try file.series("\(Self.moeGroup(layer))/dropped_fraction", of: Double.self).truncate(toCount: trainRows)
            }
            try CommMetrics.truncate(file, toCount: trainRows)
            try Self.truncateEvents(file, group: "/eval", names: Self.evalColumns.map(\.name), toStep: step)
            let saves = try Self.truncateEvents(file, group: "/checkpoint", names: Self.checkpointColumns.map(\.name), toStep: step)
            if trainRows > 0, trainRows <= elapsedColumn.count, elapsedColumn[trainRows - 1].isFinite {
                elapsed = elapsedColumn[trainRows - 1]
                if let save = saves.last, save.step == Double(step), save.seconds.isFinite { elapsed += save.seconds }
            }
        }
        return elapsed
    }

    /// Keeps the rows of `group` whose step is ≤ `step`; returns the kept (step, seconds) pairs.
    @discardableResult
    private static func truncateEvents(_ file: StoreFile, group: String, names: [String],
                                       toStep step: Int) throws -> [(step: Double, seconds: Double)] {
        let steps = try file.series("\(group)/step", of: Double.self).readAll().values
        let rows = steps.filter { $0 <= Double(step) }.count
        for name in names {
            let series = try file.series("\(group)/\(name)", of: Double.self)
            let count = try series.count()
            if count < rows { try series.append(rows: [Double](repeating: .nan, count: rows - count)) }
            try series.truncate(toCount: rows)
        }
        let seconds = try file.series("\(group)/seconds", of: Double.self).readAll().values
        return zip(steps.prefix(rows), seconds).map { ($0, $1) }
    }

    /// Writes what is queued, waiting for readers (before a checkpoint copies the file).
    public func flush() throws { try writePending(force: true) }

    /// Writes what is queued; the file is already closed between appends.
    public func close() throws { try writePending(force: true) }

    /// Runs `body` on the file opened read-write under the metrics lock, then closes it. Without
    /// `force` it returns false at once while a reader holds the file; with it, it waits
    /// `forcedWaitSeconds` and then writes anyway (the file stays sound; only that reader's view may not).
    @discardableResult
    private func withFile(force: Bool, _ body: (StoreFile) throws -> Void) throws -> Bool {
        let lock = force ? MetricsFileLock.acquire(path: path, waitingUpTo: forcedWaitSeconds)
            : MetricsFileLock.tryAcquire(path: path)
        if lock == nil && !force { return false }
        defer { lock?.release() }
        // HDF5's own flock would conflict with ours (another descriptor): ours stands for it.
        let file = try StoreFile.open(at: path, mode: .readWrite, fileLocking: false)
        do {
            try body(file)
        } catch {
            try? file.close()
            throw error
        }
        try file.close()
        return true
    }
}
