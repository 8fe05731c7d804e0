import Foundation
import XMoEPlot

/// The figures of `xmoe report` for one or several runs, overlaid run by run in tab10 colours:
/// `loss.png` (train and eval loss against steps and against tokens), `training.png` (learning rate,
/// throughput, gradient norm, load-balancing loss) and one `expert-load-<run>.png` per run (share of
/// routed slots per expert over the steps, one heatmap per chosen MoE layer).
public struct RunFigures {
    public let runs: [RunMetrics]
    /// MoE layers drawn in the expert-load heatmaps; nil: the first and the last MoE layer.
    public let layers: [Int]?

    public init(runs: [RunMetrics], layers: [Int]? = nil) {
        self.runs = runs
        self.layers = layers
    }

    /// Writes every figure into `directory` and returns the paths written, in order.
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [URL] = []
        let loss = directory.appendingPathComponent("loss.png")
        try lossFigure().writePNG(to: loss.path)
        written.append(loss)
        let training = directory.appendingPathComponent("training.png")
        try trainingFigure().writePNG(to: training.path)
        written.append(training)
        for run in runs {
            guard let figure = try expertLoadFigure(run) else { continue }
            let url = directory.appendingPathComponent("expert-load-\(name(of: run)).png")
            try figure.writePNG(to: url.path)
            written.append(url)
        }
        return written
    }

    func name(of run: RunMetrics) -> String { run.spec?.name ?? run.runDirectory.lastPathComponent }

    private func label(_ run: RunMetrics, _ what: String) -> String {
        runs.count == 1 ? what : "\(name(of: run)) \(what)"
    }

    public func lossFigure() -> Figure {
        var bySteps: [Series] = [], byTokens: [Series] = []
        var smoothedAny = false
        for (index, run) in runs.enumerated() {
            let color = Color.cycle(index)
            let (train, smoothed) = Self.smoothedForDisplay(run.train.lmLoss)
            smoothedAny = smoothedAny || smoothed
            bySteps.append(Series(name: label(run, "train"), x: run.train.step, y: train, color: color))
            bySteps.append(Series(name: label(run, "eval"), x: run.eval.step, y: run.eval.loss, style: .lineWithMarkers,
                                  color: color))
            if let trainTokens = run.trainTokens, let evalTokens = run.evalTokens {
                byTokens.append(Series(name: label(run, "train"), x: trainTokens, y: train, color: color))
                byTokens.append(Series(name: label(run, "eval"), x: evalTokens, y: run.eval.loss, style: .lineWithMarkers,
                                       color: color))
            }
        }
        let note = smoothedAny ? " (train: moving average)" : ""
        var panels = [Panel.line(LineChart(title: "Loss against steps" + note, xLabel: "step", yLabel: "loss (nats/token)",
                                           series: bySteps))]
        if !byTokens.isEmpty {
            panels.append(.line(LineChart(title: "Loss against tokens" + note, xLabel: "tokens", yLabel: "loss (nats/token)",
                                          series: byTokens)))
        }
        if let zoom = evalZoom() { panels.append(.line(zoom)) }
        return Figure(title: title("Language-model loss"), columns: panels.count, panels: panels)
    }

    /// The evaluations of the second half of training on their own scale: where runs of a sweep differ
    /// by hundredths of a nat, which the full loss range (from ln V ≈ 10.8 down) flattens out.
    func evalZoom() -> LineChart? {
        let lastStep = runs.compactMap { $0.eval.step.last }.max() ?? 0
        var series: [Series] = []
        for (index, run) in runs.enumerated() {
            let late = zip(run.eval.step, run.eval.loss).filter { $0.0 >= lastStep / 2 }
            let points = late.count >= 2 ? late : Array(zip(run.eval.step, run.eval.loss))
            guard !points.isEmpty else { continue }
            series.append(Series(name: name(of: run), x: points.map(\.0), y: points.map(\.1), style: .lineWithMarkers,
                                 color: Color.cycle(index)))
        }
        guard series.contains(where: { $0.x.count >= 2 }) else { return nil }
        return LineChart(title: "Eval loss, second half of training", xLabel: "step", yLabel: "eval loss (nats/token)",
                         series: series, showsLegend: runs.count > 1)
    }

    public func trainingFigure() -> Figure {
        func chart(_ title: String, _ yLabel: String, logY: Bool = false, _ column: (TrainMetrics) -> [Double]) -> Panel {
            let series = runs.enumerated().map { index, run in
                Series(name: name(of: run), x: run.train.step, y: column(run.train), color: Color.cycle(index))
            }
            return .line(LineChart(title: title, xLabel: "step", yLabel: yLabel, series: series, logY: logY,
                                   showsLegend: runs.count > 1))
        }
        return Figure(title: title("Training"), columns: 2, panels: [
            chart("Learning rate", "lr", { $0.lr }),
            chart("Throughput", "tokens/s", { $0.tokensPerSecond }),
            chart("Gradient norm (before clipping)", "L2 norm", logY: true, { $0.gradNorm }),
            chart("Load-balancing loss (sum over MoE layers)", "aux loss", { $0.auxLoss }),
        ])
    }

    /// nil for a run without MoE layers or without rows.
    public func expertLoadFigure(_ run: RunMetrics) throws -> Figure? {
        let available = run.moeLayers.filter { !$0.tokensPerExpert.isEmpty }
        guard !available.isEmpty else { return nil }
        let chosen: [MoELayerMetrics]
        if let layers {
            let missing = layers.filter { layer in !available.contains { $0.layer == layer } }
            if !missing.isEmpty {
                throw ReportError.malformedMetrics(
                    path: run.runDirectory.appendingPathComponent("metrics.h5").path,
                    detail: "no MoE layer \(missing.map(String.init).joined(separator: ", ")); its MoE layers are "
                        + available.map { String($0.layer) }.joined(separator: ", "))
            }
            chosen = available.filter { layers.contains($0.layer) }
        } else {
            chosen = available.count == 1 ? available : [available.first!, available.last!]
        }
        let steps = run.train.step
        let panels = chosen.map { layer -> Panel in
            let (matrix, xValues) = Self.loadShares(layer.tokensPerExpert, steps: steps)
            let even = 1.0 / Double(max(layer.experts, 1))
            return .heatmap(Heatmap(title: "Layer \(layer.layer): share of routed slots per expert (even = \(Self.percent(even)))",
                                    xLabel: "step", yLabel: "expert", values: matrix, xValues: xValues,
                                    colorbarLabel: "share of slots"))
        }
        return Figure(title: "Expert load: \(name(of: run))", columns: 1, panels: panels, panelSize: (900, 360))
    }

    private func title(_ what: String) -> String {
        runs.count == 1 ? "\(what): \(name(of: runs[0]))" : "\(what): \(runs.count) runs"
    }

    /// 0.125 → "12.5%", 0.25 → "25%": the plot font is ASCII, and an even share is often not a whole percent.
    static func percent(_ x: Double) -> String {
        let value = x * 100
        return value == value.rounded() ? String(format: "%.0f%%", value) : String(format: "%.1f%%", value)
    }

    /// Each step's tokens per expert as shares of that step's slots, as rows = experts and columns =
    /// steps; more than `maxColumns` steps are averaged into that many equal bins so a long run still
    /// draws as a readable map.
    static func loadShares(_ counts: [[Int64]], steps: [Double], maxColumns: Int = 400) -> ([[Double]], [Double]) {
        let rows = counts.count, experts = counts.first?.count ?? 0
        let bins = min(rows, maxColumns)
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: bins), count: experts)
        var xValues = [Double](repeating: 0, count: bins)
        for bin in 0..<bins {
            let lo = bin * rows / bins, hi = max((bin + 1) * rows / bins, lo + 1)
            var used = 0
            for row in lo..<hi {
                let total = counts[row].reduce(0, +)
                guard total > 0 else { continue }
                used += 1
                for expert in 0..<experts { matrix[expert][bin] += Double(counts[row][expert]) / Double(total) }
            }
            for expert in 0..<experts { matrix[expert][bin] = used > 0 ? matrix[expert][bin] / Double(used) : .nan }
            let stepRange = steps.indices.contains(hi - 1) ? (steps[lo] + steps[hi - 1]) / 2 : Double(lo + 1)
            xValues[bin] = stepRange
        }
        return (matrix, xValues)
    }

    /// Long, noisy train curves are drawn as a trailing moving average over ~1% of the steps (at least
    /// 5); up to 300 steps they are drawn as they are.
    static func smoothedForDisplay(_ values: [Double]) -> ([Double], Bool) {
        guard values.count > 300 else { return (values, false) }
        let window = max(5, values.count / 100)
        var out = [Double](repeating: .nan, count: values.count)
        var sum = 0.0, count = 0
        for (i, value) in values.enumerated() {
            if value.isFinite { sum += value; count += 1 }
            if i >= window, values[i - window].isFinite {
                sum -= values[i - window]
                count -= 1
            }
            out[i] = count > 0 ? sum / Double(count) : .nan
        }
        return (out, true)
    }
}
