import Foundation
import Testing
import XMoEReport

@Suite("RunSummary from a run directory written by h5py")
struct RunSummaryTests {
    @Test func metricsMatchWhatH5pyWrote() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        try fixture.writeSpec()
        let expected = try fixture.writeMetrics()
        let metrics = try RunMetrics.load(runDirectory: fixture.run)
        #expect(metrics.train.rowCount == int(expected["rows"]))
        #expect(metrics.train.step == (1...47).map(Double.init))
        #expect(close(metrics.train.loss.filter(\.isFinite).reduce(0, +), double(expected["train_loss_sum_finite"])))
        #expect(metrics.train.units["tokens_per_s"] == "tokens/s")
        #expect(metrics.moeLayers.map(\.layer) == (expected["moe_layers"] as? [Int]))
        #expect(metrics.moeLayers.allSatisfy { $0.experts == int(expected["experts"]) && $0.droppedFraction.count == 47 })
        #expect(metrics.moeLayers[0].tokensPerExpert[0].map(Int.init) == (expected["layer1_first_counts"] as? [Int]))
        #expect(metrics.moeLayers[1].tokensPerExpert[46].map(Int.init) == (expected["layer3_last_counts"] as? [Int]))
        #expect(metrics.eval.step == [10, 20, 30, 40, 47])
        #expect(metrics.eval.perplexity.indices.allSatisfy { close(metrics.eval.perplexity[$0], exp(metrics.eval.loss[$0])) })
        #expect(metrics.tokensPerStep == FixtureRun.tokensPerStep)
        #expect(metrics.trainTokens?.last == Double(47 * FixtureRun.tokensPerStep))
        #expect(metrics.spec?.values.int("moe.num_experts") == 4)
    }

    @Test func summaryNumbersMatchPython() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        try fixture.writeSpec()
        let expected = try fixture.writeMetrics()
        try fixture.writeRecord(step: "prepare-data", status: "complete", duration: 12.5)
        try fixture.writeRecord(step: "train", status: "complete", duration: 100.25)
        let summary = try RunSummary.load(runDirectory: fixture.run)

        #expect(summary.name == "fixture-run")
        #expect(summary.status == .complete)
        #expect(summary.stepsDone == int(expected["steps_done"]))
        #expect(summary.stepsPlanned == 50)
        #expect(summary.tokensSeen == int(expected["tokens_seen"]))
        #expect(summary.skippedSteps == int(expected["skipped_steps"]))
        #expect(summary.finalTrainLossWindow == int(expected["final_train_loss_window"]))
        #expect(close(summary.finalTrainLoss, double(expected["final_train_loss"])))
        #expect(close(summary.finalEvalLoss, double(expected["final_eval_loss"])))
        #expect(summary.finalEvalStep == int(expected["final_eval_step"]))
        #expect(close(summary.bestEvalLoss, double(expected["best_eval_loss"])))
        #expect(summary.bestEvalStep == int(expected["best_eval_step"]))
        #expect(close(summary.tokensPerSecond, double(expected["tokens_per_s"])))
        #expect(close(summary.meanDroppedFraction, double(expected["mean_dropped_fraction"])))
        #expect(close(summary.expertLoadImbalance, double(expected["load_imbalance"])))
        #expect(summary.wallTimeSeconds == 112.75)
        #expect(!summary.wallTimeIsPartial)

        let text = summary.text
        for fragment in ["fixture-run", "4 layers", "hidden 32", "4 experts top-2", "complete", "47 / 50",
                         String(format: "%.4f", try #require(summary.finalTrainLoss)), "1m53s"] {
            #expect(text.contains(fragment), "summary text lacks \(fragment):\n\(text)")
        }
    }

    @Test func failedTrainStepCarriesItsError() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        try fixture.writeSpec()
        _ = try fixture.writeMetrics()
        try fixture.writeRecord(step: "train", status: "failed", duration: 3, error: "non-finite loss at step 48")
        let summary = try RunSummary.load(runDirectory: fixture.run)
        #expect(summary.status == .failed(step: "train", error: "non-finite loss at step 48"))
        #expect(summary.status.label == "failed")
        #expect(summary.text.contains("non-finite loss at step 48"))
    }

    @Test func failedDataStepWithoutMetricsStillSummarises() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        try fixture.writeSpec()
        try fixture.writeRecord(step: "prepare-data", status: "failed", duration: 1.5, error: "corpus.jsonl: no such file")
        let summary = try RunSummary.load(runDirectory: fixture.run)
        #expect(summary.status == .failed(step: "prepare-data", error: "corpus.jsonl: no such file"))
        #expect(summary.stepsDone == 0 && summary.finalTrainLoss == nil && summary.tokensPerSecond == nil)
        #expect(summary.expertLoadImbalance == nil && summary.bestEvalLoss == nil)
    }

    @Test func resumedOrRunningStepsMarkWallTimePartial() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        try fixture.writeRecord(step: "prepare-data", status: "complete", duration: 2)
        try fixture.writeRecord(step: "train", status: "complete", duration: 40,
                                reason: "previous run did not complete (interrupted at 2025-01-02 03:00:00)")
        let resumed = try RunSummary.load(runDirectory: fixture.run)
        #expect(resumed.wallTimeSeconds == 42 && resumed.wallTimeIsPartial)

        try fixture.writeRecord(step: "train", status: "running", duration: nil)
        let running = try RunSummary.load(runDirectory: fixture.run)
        #expect(running.status == .running(step: "train"))
        #expect(running.wallTimeSeconds == 2 && running.wallTimeIsPartial)
        #expect(running.name == "fixture-run")  // no spec: the directory's name

        try fixture.writeRecord(step: "train", status: "interrupted", duration: 5, error: "interrupted by SIGINT")
        #expect(try RunSummary.load(runDirectory: fixture.run).status == .interrupted(step: "train", error: "interrupted by SIGINT"))
    }

    @Test func noRecordsIsNotStarted() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let summary = try RunSummary.load(runDirectory: fixture.run)
        #expect(summary.status == .notStarted && summary.wallTimeSeconds == nil)
    }
}
