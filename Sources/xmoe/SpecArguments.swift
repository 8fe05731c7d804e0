import ArgumentParser
import Foundation
import XMoESpec

/// The spec file and `key.path=value` overrides that `config`, `plan` and `run` all take.
struct SpecArguments: ParsableArguments {
    @Argument(help: "Experiment spec (YAML).")
    var spec: String

    @Argument(help: ArgumentHelp("Overrides, typed and validated like file values.", valueName: "key.path=value"))
    var overrides: [String] = []

    /// Loads and validates the spec; on any mistake prints every error and exits with status 2,
    /// before anything is written. A layout the engine cannot train yet is refused here too, so that
    /// `config`, `plan` and `run` say so up front rather than after the data is prepared. With
    /// `checkingDevice` (`plan`, `run`), so is a `train.device` this machine lacks.
    func load(checkingDevice: Bool = false) throws -> ExperimentSpec {
        try exitingOnSpecErrors(in: "spec") {
            let loaded = try ExperimentSpec.load(file: spec, overrides: overrides)
            var unsupported = loaded.unsupportedLayoutErrors(RankEnvironment.unsupportedReasons(loaded))
            if checkingDevice && unsupported.isEmpty { unsupported = TrainDevice.unavailableErrors(loaded) }
            if !unsupported.isEmpty { throw SpecErrors(unsupported) }
            return loaded
        }
    }
}

/// Runs a spec or sweep load; on `SpecErrors` prints every error and a count, and exits with status 2.
func exitingOnSpecErrors<T>(in what: String, _ load: () throws -> T) throws -> T {
    do {
        return try load()
    } catch let errors as SpecErrors {
        Terminal.error(errors.description)
        let count = errors.errors.count
        Terminal.error("xmoe: \(count) error\(count == 1 ? "" : "s") in the \(what); nothing was run or written")
        throw ExitCode(2)
    }
}

enum Terminal {
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Unbuffered standard output, for commands whose lines interleave with their child processes' output
/// (`print` is block-buffered into a pipe or file, so its lines would come out late and out of order).
enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func line(_ text: String = "") {
        write(text + "\n")
    }
}
