// xmoe-comm-check: checks every collective of xmoe's communicator across real MPI ranks, the way
// nccl-tests checks a GPU fabric. Each rank verifies its own results against the formulas that made
// the data; a MAX all-reduce combines the verdicts; rank 0 prints one line per rank and the summary.
import Foundation
import XMoEParallel

let usage = """
    usage: mpirun -np N xmoe-comm-check [--scale K] [--quiet]
      Checks broadcast, all-reduce, all-gather, reduce-scatter, all-to-all and uneven all-to-all-v, and
      communicator splits, across N MPI ranks. Prints `comm-check: OK (size N)` and exits 0
      when every rank agrees; names the failing ranks and checks and exits 1 otherwise.
      --scale K   multiply message lengths by K (default 1; e.g. 10000 for large messages)
      --quiet     print only the summary line
      --fail-on-rank R
                  record a deliberate failure on rank R, to see how a failure is reported
    """

var scale = 1
var quiet = false
var deliberateFailureRank: Int?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "-h", "--help":
        print(usage)
        exit(0)
    case "--quiet":
        quiet = true
    case "--scale":
        guard let text = arguments.popFirst(), let value = Int(text), value >= 1 else {
            FileHandle.standardError.write(Data("xmoe-comm-check: --scale needs a whole number ≥ 1\n\(usage)\n".utf8))
            exit(2)
        }
        scale = value
    case "--fail-on-rank":
        guard let text = arguments.popFirst(), let value = Int(text), value >= 0 else {
            FileHandle.standardError.write(Data("xmoe-comm-check: --fail-on-rank needs a rank ≥ 0\n\(usage)\n".utf8))
            exit(2)
        }
        deliberateFailureRank = value
    default:
        FileHandle.standardError.write(Data("xmoe-comm-check: unknown argument '\(argument)'\n\(usage)\n".utf8))
        exit(2)
    }
}

let world: MPICommunicator
do {
    world = try MPICommunicator.world()
} catch {
    FileHandle.standardError.write(Data("xmoe-comm-check: \(error)\n".utf8))
    exit(1)
}

var recorder = CheckRecorder()
// A launcher that started N processes which each see a world of 1 means the binary's MPI is not the
// launcher's MPI: the classic cluster misconfiguration this tool exists to catch.
if let launcher = MPIRuntime.detectedLauncher {
    recorder.expectEqual("world size matches \(launcher.kind.rawValue)", world.size, launcher.worldSize)
}

do {
    try CollectiveChecks(comm: world, scale: scale).run(into: &recorder)
    try SplitChecks(world: world, scale: scale).run(into: &recorder)
} catch {
    // Peers may be waiting in a collective this rank will never enter: take the whole job down.
    FileHandle.standardError.write(Data("xmoe-comm-check: \(error)\n".utf8))
    MPIRuntime.abortJob(exitCode: 1)
}

if deliberateFailureRank == world.rank {
    recorder.expect("deliberate failure (--fail-on-rank \(world.rank))", false)
}

let host = ProcessInfo.processInfo.hostName
let line = recorder.failures.isEmpty
    ? "rank \(world.rank)/\(world.size) on \(host): \(recorder.passed) checks passed"
    : "rank \(world.rank)/\(world.size) on \(host): FAILED \(recorder.failures.count) of \(recorder.total): "
        + recorder.failures.joined(separator: "; ")

let anyFailed: Bool
let report: [String]
do {
    var verdict: [Int32] = [recorder.failures.isEmpty ? 0 : 1]
    try world.allReduce(&verdict, op: .max)
    // A broken MAX reduction must not hide a failing rank, so a rank's own verdict counts too.
    anyFailed = verdict[0] != 0 || !recorder.failures.isEmpty
    // Lines travel to rank 0 so the output is in rank order rather than interleaved.
    let (bytes, counts) = try world.allGatherV(Array(line.utf8))
    var offset = 0
    report = counts.map { count in
        defer { offset += count }
        return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
    }
} catch {
    FileHandle.standardError.write(Data("xmoe-comm-check: \(line)\nxmoe-comm-check: \(error)\n".utf8))
    MPIRuntime.abortJob(exitCode: 1)
}

// Every rank holds every line, so all agree on the verdict even if the MAX reduction misbehaved.
let failedRanks = report.indices.filter { report[$0].contains("FAILED") }
let jobFailed = anyFailed || !failedRanks.isEmpty

if world.rank == 0 {
    if MPIRuntime.detectedLauncher == nil, !quiet {
        print("note: not started by mpirun or srun, so this is a world of 1; try `mpirun -np 4 xmoe-comm-check`")
    }
    if !quiet || jobFailed {
        report.forEach { print($0) }
    }
    print(jobFailed
        ? "comm-check: FAILED on ranks \(failedRanks.map(String.init).joined(separator: ",")) (size \(world.size))"
        : "comm-check: OK (size \(world.size))")
}

do {
    try MPIRuntime.finalize()
} catch {
    FileHandle.standardError.write(Data("xmoe-comm-check: \(error)\n".utf8))
    exit(1)
}
exit(jobFailed ? 1 : 0)
