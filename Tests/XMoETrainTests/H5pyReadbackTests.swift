import Foundation
import Testing
import XMoETrain

/// metrics.h5 and a checkpoint as an independent reader (Debian's h5py) sees them.
struct H5pyReadbackTests {
    func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func metricsAndCheckpointReadByH5py() throws {
        let dir = try TemporaryDirectory()
        let trainer = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 4, checkpointEvery: 4),
                                  trainData: Tiny.randomData(), validationData: Tiny.randomData(salt: 9),
                                  runDirectory: dir.url, specHash: "hash-1")
        var losses: [Double] = []
        try trainer.run { losses.append($0.loss) }
        let metrics = try python("""
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            print(f['train/loss'].shape[0], f['train/loss'].attrs['units'], f['eval/step'][:].tolist(),
                  f['moe/layer_01/tokens_per_expert'].shape, repr(float(f['train/loss'][-1])))
            """, [trainer.metricsURL.path])
        #expect(metrics == "4 nats/token [3.0] (4, 4) \(losses[3])")
        let checkpoint = try python("""
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            names = sorted(f['params'].keys())
            experts = [n for n in names if '.experts.' in n and n.endswith('.w_in')]
            print(len(experts), f['params'][experts[0]].shape[0], list(f['params'][experts[0]].attrs['experts']), f.attrs['step'],
                  f.attrs['spec_hash'], sorted(f['adam_m'].keys()) == names == sorted(f['adam_v'].keys()))
            """, [dir.url.appendingPathComponent("checkpoints/step_000004/rank_00000.h5").path])
        #expect(checkpoint == "1 4 [0, 1, 2, 3] 4 hash-1 True")
    }
}
