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

    /// `xmoe plan` on the paper's Small model: figures derived by hand in the reference notes. Until
    /// multi-rank training lands, plan refuses its 8-rank layout (below), so this plans it on one rank
    /// (the sizes and the capacity per expert do not depend on the layout).
    @Test func planOfSmall10bShowsLayoutSizeAndDAGAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let root = XMoEBinary.repositoryRoot
        let result = try XMoEBinary.run(["plan", root.appendingPathComponent("configs/small-10b.yaml").path,
                                         "output.dir=\(dir.url.path)/runs", "parallel.dp=1", "parallel.ep=1"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("parameters 10.92 B (10917875712)"))
        #expect(result.stdout.contains("capacity 960 slots per expert"))
        #expect(result.stdout.contains("ep 1: 64 local experts per rank"))
        #expect(result.stdout.contains("global batch 256 → 64 accumulation steps"))
        #expect(result.stdout.contains("prepare-data  will run  never run"))
        #expect(dir.listing().isEmpty, "plan wrote \(dir.listing())")
    }

    /// A layout the engine cannot train yet is refused by plan at the key that asks for it, not by the
    /// train step after the data is prepared.
    @Test func planRefusesTheUnsupportedLayoutOfSmall10b() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let spec = XMoEBinary.repositoryRoot.appendingPathComponent("configs/small-10b.yaml").path
        let result = try XMoEBinary.run(["plan", spec, "output.dir=\(dir.url.path)/runs"], in: dir.url)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("\(spec):29:3: error: parallel.dp: parallel.world_size = 8"), "\(result.stderr)")
        #expect(dir.listing().isEmpty)
    }
}

@Suite struct RunRefusalTests {
    /// X-MoE Small needs ~119 GiB per rank for 8 ranks (and more on one): `xmoe run` must refuse before
    /// allocating or writing. (One rank until multi-rank training lands: 8 ranks are refused as a layout.)
    @Test func small10bIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let spec = XMoEBinary.repositoryRoot.appendingPathComponent("configs/small-10b.yaml").path
        let result = try XMoEBinary.run(["run", spec, "output.dir=\(dir.url.path)/runs", "parallel.dp=1", "parallel.ep=1"], in: dir.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("small-10b does not fit: this machine: 1 rank need"), "\(result.stderr)")
        #expect(result.stderr.contains("lower train.micro_batch"))
        #expect(dir.listing().isEmpty)
    }
}
