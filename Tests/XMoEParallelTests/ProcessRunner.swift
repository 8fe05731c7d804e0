import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a child process to completion or to a deadline, so a hung MPI job can never hold up the
/// test run. The child leads its own process group, so on timeout the whole job (mpirun and every
/// rank) gets SIGTERM and then SIGKILL. posix_spawn rather than Foundation's Process: we need the
/// process group and a status that does not depend on a run loop noticing the exit.
enum ProcessRunner {
    struct Outcome {
        /// The exit code, or 128 + signal when a signal ended the child.
        let status: Int32
        let output: String
        let timedOut: Bool
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String],
                    timeoutSeconds: Double) async throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-parallel-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A file rather than a pipe: nothing can block on a full pipe buffer.
        let outputPath = directory.appendingPathComponent("output.txt").path

        let pid = try spawn(executable.path, arguments, environment: environment, outputPath: outputPath)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var timedOut = false
        var killedAt: Date?
        var rawStatus: Int32 = 0
        while true {
            let reaped = waitpid(pid, &rawStatus, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw SpawnError(description: "waitpid failed: errno \(errno)") }
            if Date() >= deadline {
                if !timedOut {
                    timedOut = true
                    killedAt = Date()
                    kill(-pid, SIGTERM)
                } else if let killedAt, Date().timeIntervalSince(killedAt) > 5 {
                    kill(-pid, SIGKILL)
                }
            }
            // A plain sleep, not Task.sleep: on a loaded machine the cooperative pool can be held by
            // tests that block, and the deadline must fire regardless.
            usleep(20_000)
        }
        if timedOut { kill(-pid, SIGKILL) }  // stragglers of the group, if any
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Outcome(status: decode(rawStatus), output: output, timedOut: timedOut)
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func spawn(_ path: String, _ arguments: [String], environment: [String: String],
                              outputPath: String) throws -> pid_t {
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard outputFD >= 0 else { throw SpawnError(description: "cannot create \(outputPath): errno \(errno)") }
        defer { close(outputFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SpawnError(description: "cannot start \(path): \(String(cString: strerror(code)))") }
        return pid
    }

    /// The child gets stdin/stdout/stderr only. Otherwise it (and mpirun's ranks and daemons, which
    /// can outlive a test) inherits whatever the test process has open — an HDF5 file another test is
    /// writing keeps its lock in the child, and that test can no longer reopen its own file.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        // glibc ≥ 2.34 has posix_spawn_file_actions_addclosefrom_np, but Swift's Glibc module does not
        // declare it (it needs _GNU_SOURCE).
        #if os(Linux)
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        #endif
        // Elsewhere: close what is open now (a close of an fd that went away meanwhile is ignored).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    }

    /// The first executable named `name` on PATH.
    static func onPath(_ name: String, environment: [String: String]) -> URL? {
        let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return directories.map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
