import Foundation
import Testing

/// `train.clip_grad: 0` with the largest accepted learning rate: the gradients explode to norms whose
/// squares overflow fp32 in AdamW, and `train.nan_policy` decides — never silently trained through.
@Suite(.serialized) struct NonFinitePolicyTests {
    static let overrides = TrainRunTests.overrides.filter { !$0.hasPrefix("train.iters") && !$0.hasPrefix("train.lr")
        && !$0.hasPrefix("train.min_lr") && !$0.hasPrefix("train.eval_interval") && !$0.hasPrefix("train.save_interval") && !$0.hasPrefix("train.warmup_iters") }
        + ["train.iters=8", "train.lr=10", "train.min_lr=10", "train.warmup_iters=0", "train.clip_grad=0",
           "train.eval_interval=0", "train.save_interval=8"]

    @Test func stopExitsWithTheReason() throws {
        let dir = try TrainRunTests().setUp()
        defer { dir.cleanup() }
        let run = try XMoEBinary.run(["run", "exp.yaml", "train.nan_policy=stop"] + Self.overrides, in: dir.url)
        #expect(run.status != 0)
        let output = run.stdout + run.stderr
        #expect(output.contains("AdamW's fp32 second moment overflows") && output.contains("training stopped (policy `stop`)"),
                "\(output)")
    }

    @Test func skipKeepsTheOptimizerStateFinite() throws {
        let dir = try TrainRunTests().setUp()
        defer { dir.cleanup() }
        let run = try XMoEBinary.run(["run", "exp.yaml", "train.nan_policy=skip"] + Self.overrides, in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        let check = try Python.run("""
            import h5py, numpy as np, sys
            c = h5py.File(sys.argv[1] + '/checkpoints/step_000008/rank_00000.h5', 'r')
            bad = [g + '/' + k for g in ('params', 'adam_m', 'adam_v') for k in c[g] if not np.all(np.isfinite(c[g][k][()]))]
            m = h5py.File(sys.argv[1] + '/metrics.h5', 'r')
            print(len(bad), int(m['train/skipped'][()].sum()))
            """, [dir.url.appendingPathComponent("runs/tiny").path])
        let fields = check.output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(fields.count == 2 && fields[0] == 0 && fields[1] > 0, "\(check.output)")
    }
}
