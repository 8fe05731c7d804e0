import Foundation
import Testing

@Suite struct ConfigAndPlanTests {
    @Test func configPrintsAResolvedSpecThatResolvesToItself() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("exp.yaml", "model:\n  hidden: 256\n  heads: 8\nmoe:\n  num_experts: 16\n")
        let first = try XMoEBinary.run(["config", "exp.yaml", "train.lr=1e-3"], in: dir.url)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("  hidden: 256\n"))
        #expect(first.stdout.contains("  lr: 0.001\n"))
        // Feeding the printed spec back gives the same hash.
        try dir.write("resolved.yaml", first.stdout)
        let hashOfResolved = try XMoEBinary.run(["config", "resolved.yaml", "--hash-only"], in: dir.url)
        let hashOfOriginal = try XMoEBinary.run(["config", "exp.yaml", "train.lr=1e-3", "--hash-only"], in: dir.url)
        #expect(hashOfResolved.stdout == hashOfOriginal.stdout)
        #expect(first.stdout.contains("# hash: " + hashOfOriginal.stdout.trimmingCharacters(in: .newlines)))
        #expect(dir.listing() == ["exp.yaml", "resolved.yaml"])
    }

    /// `xmoe plan` on the paper's Small model: figures derived by hand in the reference notes.
    @Test func planOfSmall10bShowsLayoutSizeAndDAGAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let root = XMoEBinary.repositoryRoot
        let result = try XMoEBinary.run(["plan", root.appendingPathComponent("configs/small-10b.yaml").path,
                                         "output.dir=\(dir.url.path)/runs"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("parameters 10.92 B (10917875712)"))
        #expect(result.stdout.contains("capacity 960 slots per expert"))
        #expect(result.stdout.contains("ep 8: 8 local experts per rank"))
        #expect(result.stdout.contains("global batch 256 → 8 accumulation steps"))
        #expect(result.stdout.contains("prepare-data  will run  never run"))
        #expect(dir.listing().isEmpty, "plan wrote \(dir.listing())")
    }
}

extension ConfigAndPlanTests {
    /// A layout this version cannot run (here tensor parallelism, which needs SSMB) is refused by plan
    /// at the key that asks for it, not by the train step after the data is prepared.
    @Test func planRefusesALayoutThisVersionCannotRun() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let spec = XMoEBinary.repositoryRoot.appendingPathComponent("configs/small-10b.yaml").path
        let result = try XMoEBinary.run(["plan", spec, "output.dir=\(dir.url.path)/runs", "parallel.tp=2"], in: dir.url)
        #expect(result.status == 2)
        let located = result.stderr.contains("'parallel.tp=2': error: parallel.tp: parallel.tp = 2: tensor parallelism needs sequence-sharded MoE blocks")
        #expect(located, "\(result.stderr)")
        #expect(dir.listing().isEmpty)
    }
}

@Suite struct RunRefusalTests {
    /// X-MoE Small needs ~119 GiB per rank for 8 ranks: `xmoe run` must refuse before allocating or writing.
    @Test func small10bIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let spec = XMoEBinary.repositoryRoot.appendingPathComponent("configs/small-10b.yaml").path
        let result = try XMoEBinary.run(["run", spec, "output.dir=\(dir.url.path)/runs"], in: dir.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("small-10b does not fit: this machine: 8 ranks need"), "\(result.stderr)")
        #expect(result.stderr.contains("lower train.micro_batch"))
        #expect(dir.listing().isEmpty)
    }
}
