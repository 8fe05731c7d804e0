import Foundation
import Testing

/// DESIGN.md "Runs are never lost": a changed continuation key continues the run from its newest
/// checkpoint, a changed identity key starts a new run and keeps the old one in `archive/`, a run that
/// cannot start changes nothing, and damaged metrics are restored from the checkpoint's copy.
@Suite(.serialized) struct RunContinuityTests {
    /// 6 steps, then train.iters 8 (continues, rows 1–6 unchanged), then train.lr with metrics.h5
    /// deleted (continues, history restored), then more steps with metrics.h5 emptied.
    @Test func iterationsAndScheduleChangesContinueAndMetricsSurviveDamage() throws {
        let f = try RunFixture(iters: 6, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let loss6 = try f.series("/train/loss"), lr6 = try f.series("/train/lr")
        #expect(loss6.count == 6)

        let plan8 = try f.plan(["train.iters=8"])
        #expect(plan8.contains("train         will rerun  continues from step 6 (train.iters 6 → 8)"), "\(plan8)")
        let run8 = try f.train(["train.iters=8"])
        #expect(run8.stdout.contains("train: ran — continues from step 6 (train.iters 6 → 8)"), "\(run8.stdout)")
        let loss8 = try f.series("/train/loss")
        #expect(loss8.count == 8)
        #expect(Array(loss8.prefix(6)) == loss6)
        #expect(Array(try f.series("/train/lr").prefix(6)) == lr6)
        #expect(try f.series("/train/step") == (1...8).map { "\(Double($0))" })

        // A schedule change continues too; a deleted metrics.h5 comes back from the checkpoint.
        try FileManager.default.removeItem(at: f.run.appendingPathComponent("metrics.h5"))
        let plan10 = try f.plan(["train.iters=10", "train.lr=0.02"])
        #expect(plan10.contains("continues from step 8 (train.iters 8 → 10, train.lr 0.01 → 0.02)"), "\(plan10)")
        let run10 = try f.train(["train.iters=10", "train.lr=0.02"])
        #expect(run10.stderr.contains("metrics.h5 is missing; restored the copy kept in step_000008"), "\(run10.stderr)")
        let loss10 = try f.series("/train/loss")
        #expect(loss10.count == 10)
        #expect(Array(loss10.prefix(8)) == loss8)

        // Emptied (0 bytes): restored the same way.
        try Data().write(to: f.run.appendingPathComponent("metrics.h5"))
        try f.train(["train.iters=12", "train.lr=0.02"])
        let loss12 = try f.series("/train/loss")
        #expect(loss12.count == 12)
        #expect(Array(loss12.prefix(10)) == loss10)

        // Fewer iterations than trained: nothing to train, nothing lost.
        let plan4 = try f.plan(["train.iters=4", "train.lr=0.02"])
        #expect(plan4.contains("continues from step 12 (train.iters 12 → 4); already at train.iters = 4: nothing to train"), "\(plan4)")
        try f.train(["train.iters=4", "train.lr=0.02"])
        #expect(try f.series("/train/loss") == loss12)
    }

    /// Layout and dispatcher are continuation keys; model, seed, data and the global batch are identity.
    @Test func planSaysWhichKeysContinueAndWhichStartANewRun() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let continued: [(String, String)] = [
            ("moe.dispatcher=pft", "continues from step 3 (moe.dispatcher \"local\" → \"pft\")"),
            ("train.save_interval=1", "continues from step 3 (train.save_interval 3 → 1)"),
            ("output.keep_checkpoints=1", "continues from step 3 (output.keep_checkpoints 3 → 1)"),
            ("train.clip_grad=0.5", "continues from step 3 (train.clip_grad 1.0 → 0.5)"),
        ]
        for (override, note) in continued {
            let plan = try f.plan([override])
            #expect(plan.contains(note), "\(override): \(plan)")
        }
        let restarted: [(String, String)] = [
            ("model.hidden=32", "starts a new run; the old one (model.hidden 16 → 32) will be kept as runs/tiny/archive/"),
            ("seed=2", "starts a new run; the old one (seed 1 → 2) will be kept as runs/tiny/archive/"),
            ("train.global_batch=2", "starts a new run; the old one (train.global_batch 1 → 2) will be kept as"),
            ("data.append_eod=false", "starts a new run; the old one (the data (prepare-data) changed) will be kept as"),
        ]
        for (override, note) in restarted {
            let plan = try f.plan([override])
            #expect(plan.contains(note), "\(override): \(plan)")
        }
    }

    /// A model change archives the old run byte for byte; changing back continues the archived run.
    @Test func modelChangeKeepsTheOldRunAndChangingBackContinuesIt() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let before = RunFixture.snapshot(f.run).filter { !$0.key.hasPrefix("steps/") && !$0.key.hasPrefix("cache/") && $0.key != ".lock" }
        let loss = try f.series("/train/loss")
        #expect(before["checkpoints/step_000003/rank_00000.h5"] != nil)

        let run = try f.train(["model.hidden=32"])
        #expect(run.stdout.contains("train: ran — starts a new run; the old one (model.hidden 16 → 32) will be kept as runs/tiny/archive/"),
                "\(run.stdout)")
        let archives = try FileManager.default.contentsOfDirectory(atPath: f.run.appendingPathComponent("archive").path)
        #expect(archives.count == 1)
        let archive = f.run.appendingPathComponent("archive/\(archives.first ?? "")")
        let kept = RunFixture.snapshot(archive).filter { !$0.key.hasPrefix("steps/") }
        #expect(kept.keys.sorted() == before.keys.sorted())
        for (path, bytes) in before { #expect(kept[path] == bytes, "\(path) changed in the archive") }
        #expect(FileManager.default.fileExists(atPath: archive.appendingPathComponent("steps/train.json").path))
        let newSpec = try String(contentsOf: f.run.appendingPathComponent("spec.resolved.yaml"), encoding: .utf8)
        #expect(newSpec.contains("hidden: 32"))
        #expect(try f.series("/train/loss").count == 3)

        let plan = try f.plan()
        #expect(plan.contains("continues the earlier run kept in runs/tiny/archive/\(archives.first ?? "") from step 3; "
                              + "the current one (model.hidden 32 → 16) will be kept as runs/tiny/archive/"), "\(plan)")
        try f.train()
        #expect(try f.series("/train/loss") == loss)
        let spec = try String(contentsOf: f.run.appendingPathComponent("spec.resolved.yaml"), encoding: .utf8)
        #expect(spec.contains("hidden: 16"))
        let now = try FileManager.default.contentsOfDirectory(atPath: f.run.appendingPathComponent("archive").path)
        #expect(now.count == 1 && now != archives, "\(now)")
    }

    /// Inputs are checked before anything is written; a run that fails before training starts leaves
    /// the finished run's spec, identity, metrics and checkpoints as they were.
    @Test func aRunThatCannotStartLeavesTheExistingRunUntouched() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let before = RunFixture.snapshot(f.run)

        let missing = try f.xmoe(["run", "exp.yaml", "data.input=missing.jsonl", "train.iters=150"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("data.input: missing.jsonl does not exist"), "\(missing.stderr)")
        #expect(missing.stderr.contains("nothing was run or written"), "\(missing.stderr)")
        try FileManager.default.createDirectory(at: f.dir.url.appendingPathComponent("folder"), withIntermediateDirectories: true)
        let folder = try f.xmoe(["run", "exp.yaml", "data.input=folder"])
        #expect(folder.status == 1)
        #expect(folder.stderr.contains("data.input: folder is a directory"), "\(folder.stderr)")
        let after = RunFixture.snapshot(f.run)
        #expect(after.keys.sorted() == before.keys.sorted())
        for (path, bytes) in before { #expect(after[path] == bytes, "\(path) changed") }

        // Training that fails while being set up (no training documents) archives nothing and leaves
        // the spec, metrics and checkpoints alone.
        let failing = try f.xmoe(["run", "exp.yaml", "model.hidden=32", "data.split=0,100,0"])
        #expect(failing.status != 0)
        let kept = RunFixture.snapshot(f.run)
        for (path, bytes) in before where !path.hasPrefix("steps/") && !path.hasPrefix("cache/") && path != ".lock" {
            #expect(kept[path] == bytes, "\(path) changed")
        }
        #expect(!FileManager.default.fileExists(atPath: f.run.appendingPathComponent("archive").path))
    }
    /// Runs trained before identity.json: their train record, when checkpoints/INPUTS_SHA256 (the old
    /// scheme's hash of the record's inputs, computed here with Python's hashlib) vouches for it, says
    /// what they are; a run that recorded nothing is kept rather than continued.
    @Test func runsFromBeforeIdentityFilesAreRecognisedOrKept() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        try FileManager.default.removeItem(at: f.run.appendingPathComponent("identity.json"))
        let unrecorded = try f.plan(["train.iters=5"])
        #expect(unrecorded.contains("starts a new run; the old one (its settings were not recorded) will be kept as runs/tiny/archive/unrecorded"),
                "\(unrecorded)")
        let (hash, status) = try Python.run("""
            import hashlib, json, sys
            inputs = json.load(open(sys.argv[1]))['inputs']
            text = '\\n'.join(k + '=' + inputs[k] for k in sorted(inputs))
            open(sys.argv[2], 'w').write(hashlib.sha256(text.encode()).hexdigest())
            print('ok')
            """, [f.run.appendingPathComponent("steps/train.json").path, f.run.appendingPathComponent("checkpoints/INPUTS_SHA256").path])
        #expect(status == 0 && hash.hasPrefix("ok"))
        let legacy = try f.plan(["train.iters=5"])
        #expect(legacy.contains("continues from step 3 (train.iters 3 → 5)"), "\(legacy)")
    }
}
