import Foundation
import Testing
import XMoEReport

/// The summary's router warnings and its wall time from `/train/elapsed_s`, on metrics built in memory
/// with hand-computed expectations.
struct RouterHealthAndWallTimeTests {
    /// 20 steps; layer 1 healthy, layer 2 with expert 3 starving over the last 10% (2 steps).
    func metrics(elapsed: [Double]?, checkpoints: [(step: Double, seconds: Double)]) -> RunMetrics {
        let steps = (1...20).map(Double.init)
        var columns: [String: [Double]] = ["step": steps, "loss": steps.map { 10 - $0 / 4 }, "tokens_per_s": steps.map { _ in 100 }]
        if let elapsed { columns["elapsed_s"] = elapsed }
        let healthy = MoELayerMetrics(layer: 1, tokensPerExpert: (0..<20).map { _ in [30, 34, 32, 32] },
                                      droppedFraction: (0..<20).map { _ in 0 })
        // Last two rows sum to [90, 80, 84, 2]: even share 64, expert 3 at 2/64 = 3%.
        let starving = MoELayerMetrics(layer: 2, tokensPerExpert: (0..<18).map { _ in [32, 32, 32, 32] } + [[45, 40, 42, 1], [45, 40, 42, 1]],
                                       droppedFraction: (0..<20).map { _ in 0 })
        var metrics = RunMetrics(runDirectory: URL(fileURLWithPath: "/nonexistent/run"), spec: nil,
                                 train: TrainMetrics(columns: columns), eval: EvalMetrics(step: [], loss: [], perplexity: []),
                                 moeLayers: [healthy, starving])
        metrics.checkpoints = checkpoints
        return metrics
    }

    @Test func warnsAboutTheStarvingLayerOnly() {
        let summary = RunSummary(name: "r", metrics: metrics(elapsed: nil, checkpoints: []), records: [:], spec: nil)
        #expect(summary.routerWarnings == ["layer 2: expert 3 dead (3% of the even share, under 10%)"])
        let text = summary.text
        #expect(text.contains("WARNING") && text.contains("router layer 2: expert 3 dead"), "\(text)")
    }

    /// A resumed run's elapsed_s already sums its sessions; the last checkpoint (after the last step)
    /// adds its save time.
    @Test func wallTimeComesFromElapsedSeconds() {
        let elapsed = (1...20).map { Double($0) * 3 }
        let summary = RunSummary(name: "r", metrics: metrics(elapsed: elapsed, checkpoints: [(10, 1.5), (20, 2.5)]),
                                 records: [:], spec: nil)
        #expect(summary.wallTimeSeconds == 62.5)
        #expect(!summary.wallTimeIsPartial)
    }
}
