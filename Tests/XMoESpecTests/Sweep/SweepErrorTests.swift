import Foundation
import Testing
@testable import XMoESpec

/// Every mistake in a sweep section is reported with the file:line:col of what is wrong.
@Suite struct SweepErrorTests {
    /// The errors of a sweep file with `body`, as printed.
    func errors(_ body: String, _ overrides: [String] = []) throws -> (SpecDirectory, [String]) {
        let dir = try SpecDirectory()
        try dir.writeSweep(body)
        return (dir, dir.sweepErrors("grid.yaml", overrides).map(\.description))
    }

    @Test func sweepMustBeAMappingOfKnownEntries() throws {
        var (dir, found) = try errors("sweep: [1, 2]\n")
        #expect(found == [try dir.position(of: "[1, 2]")
                            + ": error: sweep: the sweep section must be a mapping of name, grid, zip, exclude, got a list"])
        dir.cleanup()
        (dir, found) = try errors("sweep:\n  grdi:\n    moe.top_k: [1]\n  filter: {}\n")
        #expect(found == [try dir.position(of: "grdi") + ": error: sweep.grdi: unknown entry in the sweep section (did you mean 'grid'?)",
                          try dir.position(of: "filter")
                            + ": error: sweep.filter: unknown entry in the sweep section; allowed: name, grid, zip, exclude"])
        dir.cleanup()
    }

    @Test func unknownAndMistypedKeysAndValues() throws {
        let (dir, found) = try errors("""
            sweep:
              grid:
                moe.topk: [1, 2]
                model.num_experts: [4]
                model.hidden: [64, wide]
                train.lr: [1.0e-3, 0.001]
                moe.num_shared_experts: []
                model.layers: 17

            """)
        defer { dir.cleanup() }
        #expect(found == [
            try dir.position(of: "moe.topk") + ": error: moe.topk: unknown key (did you mean 'moe.top_k'?)",
            try dir.position(of: "model.num_experts") + ": error: model.num_experts: unknown key (did you mean 'moe.num_experts'?)",
            try dir.position(of: "wide") + ": error: model.hidden: expected an integer in [1, 1048576], got 'wide'",
            try dir.position(of: "0.001") + ": error: train.lr: the value 0.001 is listed twice (first at "
                + (try dir.position(of: "1.0e-3")) + ")",
            try dir.position(of: "[]") + ": error: moe.num_shared_experts: empty list of values: give at least one, like [1, 2]",
            try dir.position(of: "17") + ": error: model.layers: expected a list of values to sweep, like [1, 2], got '17'",
        ])
    }

    @Test func aKeyIsVariedOnceAndZipListsAreEquallyLong() throws {
        let (dir, found) = try errors("""
            sweep:
              grid:
                moe.top_k: [1, 2]
              zip:
                - moe.top_k: [1, 2]
                  train.lr: [1.0e-3, 2.0e-3]
                - train.lr: [4.0e-3]
                - train.min_lr: [0.0, 1.0e-5]
                  train.iters: [10, 20, 30]

            """)
        defer { dir.cleanup() }
        #expect(found == [
            try dir.position(of: "moe.top_k", occurrence: 2) + ": error: moe.top_k: varied twice (first at "
                + (try dir.position(of: "moe.top_k")) + "); vary a key in the grid or in one zip group, once",
            try dir.position(of: "train.lr", occurrence: 2) + ": error: train.lr: varied twice (first at "
                + (try dir.position(of: "train.lr")) + "); vary a key in the grid or in one zip group, once",
            try dir.position(of: "train.min_lr") + ": error: sweep.zip: the lists of a zip group must be equally long: "
                + "train.min_lr has 2, train.iters has 3",
        ])
    }

    @Test func excludeRulesNameVariedKeysAndTheirValues() throws {
        let (dir, found) = try errors("""
            sweep:
              grid:
                moe.num_experts: [4, 8]
                moe.top_k: [1, 2]
              exclude:
                - {moe.num_experts: 4, moe.hidden: 64}
                - {model.hidden: 64}
                - {moe.top_k: [2, 3]}

            """)
        defer { dir.cleanup() }
        #expect(found == [
            try dir.position(of: "moe.hidden") + ": error: sweep.exclude: exclude rule names moe.hidden, which the sweep "
                + "does not vary; it is not a spec key either (did you mean 'model.hidden'?)",
            try dir.position(of: "model.hidden") + ": error: sweep.exclude: exclude rule names model.hidden, which the sweep does not vary",
            try dir.position(of: "3]}") + ": error: moe.top_k: exclude rule gives moe.top_k = 3, which is not among the sweep's values (1, 2)",
        ])
    }

    @Test func everyPointExcluded() throws {
        let (dir, found) = try errors("""
            sweep:
              grid:
                moe.top_k: [1, 2]
              exclude:
                - {moe.top_k: [1, 2]}

            """)
        defer { dir.cleanup() }
        #expect(found == [try dir.position(of: "exclude")
                            + ": error: sweep.exclude: every one of the 2 points is excluded; nothing is left to run"])
    }

    @Test func patternPlaceholdersAreSpecKeys() throws {
        var (dir, found) = try errors("sweep:\n  name: \"k{moe.topk}\"\n  grid:\n    moe.top_k: [1, 2]\n")
        #expect(found == [try dir.position(of: "\"k{")
                            + ": error: sweep.name: the point-name pattern names {moe.topk}, which is not a spec key (did you mean 'moe.top_k'?)"])
        dir.cleanup()
        (dir, found) = try errors("sweep:\n  name: k{moe.top_k\n  grid:\n    moe.top_k: [1, 2]\n")
        #expect(found == [try dir.position(of: "k{")
                            + ": error: sweep.name: '{' is never closed in the point-name pattern \"k{moe.top_k\""])
        dir.cleanup()
    }

    @Test func collidingPointNamesNameThePoints() throws {
        let (dir, found) = try errors("""
            sweep:
              name: "k{moe.top_k}"
              grid:
                moe.num_experts: [4, 8]
                moe.top_k: [1, 2]

            """)
        defer { dir.cleanup() }
        let at = try dir.position(of: "\"k{")
        #expect(found == [
            at + ": error: sweep.name: points 1 (moe.num_experts=4, moe.top_k=1) and 3 (moe.num_experts=8, moe.top_k=1) "
                + "all get the name 'k1' from the pattern \"k{moe.top_k}\"; add the keys that tell them apart to sweep.name, or {index}",
            at + ": error: sweep.name: points 2 (moe.num_experts=4, moe.top_k=2) and 4 (moe.num_experts=8, moe.top_k=2) "
                + "all get the name 'k2' from the pattern \"k{moe.top_k}\"; add the keys that tell them apart to sweep.name, or {index}",
        ])
    }

    @Test func theSweepSetsNameAndOutputDirItself() throws {
        let (dir, found) = try errors("sweep:\n  grid:\n    name: [a, b]\n    output.dir: [x]\n")
        defer { dir.cleanup() }
        #expect(found == [
            try dir.position(of: "name") + ": error: name: cannot be varied: each point's name comes from sweep.name",
            try dir.position(of: "output.dir") + ": error: output.dir: cannot be varied: the points' output.dir is the "
                + "base spec's output.dir plus the sweep's name",
        ])
    }

    @Test func aSweepFileIsNotASingleSpec() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("sweep:\n  grid:\n    moe.top_k: [1, 2]\n")
        let found = dir.errors("sweeps/grid.yaml").map(\.description)
        #expect(found == [try dir.position(of: "sweep")
                            + ": error: sweep: unexpected section: a sweep file runs with `xmoe sweep`, not as a single spec"])
    }
}
