// xmoe-dispatch-check: checks the expert-parallel token dispatchers (padded, pft) across real MPI
// ranks against the local reference, on ordinary and adversarial routing (zero-token ranks, every
// token to one expert, ranks whose experts are all empty), dropping and dropless, aux loss on.
// Each rank verifies its own losses, gradients and bytes; rank 0 prints one line per rank.
import Foundation
import XMoEParallel

let usage = """
    usage: mpirun -np N xmoe-dispatch-check [--ep P] [--ranks-per-node R] [--kinds padded,pft] [--quiet]
      Runs a tiny 2-layer MoE model (8 experts) with each dispatcher on every scenario and compares
      the losses, every gradient (inputs, router, the rank's experts) and the bytes moved with the
      local dispatcher run on every EP member's batch. Prints `dispatch-check: OK (size N, ep P)`.
      --ep P              expert-parallel size (default: the world size; must divide it and 8)
      --ranks-per-node R  ranks per node, for the intra/inter-node byte split (default: all on one)
      --kinds LIST        dispatchers to check (default padded,pft)
      --quiet             print only the summary line
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("xmoe-dispatch-check: \(message)\n\(usage)\n".utf8))
    exit(2)
}

var ep: Int?
var ranksPerNode: Int?
var kinds = ["padded", "pft"]
var quiet = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "-h", "--help": print(usage); exit(0)
    case "--quiet": quiet = true
    case "--ep":
        guard let v = arguments.popFirst().flatMap(Int.init), v >= 1 else { fail("--ep needs a whole number ≥ 1") }
        ep = v
    case "--ranks-per-node":
        guard let v = arguments.popFirst().flatMap(Int.init), v >= 1 else { fail("--ranks-per-node needs a whole number ≥ 1") }
        ranksPerNode = v
    case "--kinds":
        guard let v = arguments.popFirst() else { fail("--kinds needs a list") }
        kinds = v.split(separator: ",").map(String.init)
    default: fail("unknown argument '\(argument)'")
    }
}

let world: MPICommunicator
let groups: ProcessGroups
do {
    world = try MPICommunicator.world()
    let layout = try GroupLayout(dp: world.size, tp: 1, ep: ep ?? world.size, ranksPerNode: ranksPerNode ?? world.size)
    groups = try ProcessGroups(world: world, layout: layout)
} catch {
    FileHandle.standardError.write(Data("xmoe-dispatch-check: \(error)\n".utf8))
    MPIRuntime.abortJob(exitCode: 2)
}

var recorder = CheckRecorder()
var worst: Float = 0
do {
    for kind in kinds {
        for scenario in DispatchScenario.all() {
            try DispatchComparison(groups: groups, kind: kind, scenario: scenario).run(into: &recorder, worst: &worst)
        }
    }
} catch {
    // Peers may be waiting in a collective this rank will never enter: take the whole job down.
    FileHandle.standardError.write(Data("xmoe-dispatch-check: rank \(world.rank): \(error)\n".utf8))
    MPIRuntime.abortJob(exitCode: 1)
}

let line = recorder.failures.isEmpty
    ? "rank \(world.rank)/\(world.size): \(recorder.passed) checks passed (worst gradient error \(worst))"
    : "rank \(world.rank)/\(world.size): FAILED \(recorder.failures.count) of \(recorder.total): "
        + recorder.failures.joined(separator: "; ")
let report: [String]
do {
    let (bytes, counts) = try world.allGatherV(Array(line.utf8))
    var offset = 0
    report = counts.map { count in
        defer { offset += count }
        return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
    }
} catch {
    FileHandle.standardError.write(Data("xmoe-dispatch-check: \(line)\nxmoe-dispatch-check: \(error)\n".utf8))
    MPIRuntime.abortJob(exitCode: 1)
}
let failedRanks = report.indices.filter { report[$0].contains("FAILED") }
if world.rank == 0 {
    if !quiet || !failedRanks.isEmpty { report.forEach { print($0) } }
    print(failedRanks.isEmpty
        ? "dispatch-check: OK (size \(world.size), ep \(groups.layout.ep))"
        : "dispatch-check: FAILED on ranks \(failedRanks.map(String.init).joined(separator: ",")) (size \(world.size), ep \(groups.layout.ep))")
}
try? MPIRuntime.finalize()
exit(failedRanks.isEmpty ? 0 : 1)
