import Foundation

/// A real one-node Slurm on this machine for a test (Debian's slurm-wlm 22.05 and munge, as in
/// ../shared/reference/slurm-local.md): munged on its own socket and key, slurmctld and slurmd with a
/// minimal slurm.conf, all state, spool, pid and log files under `directory`, and ports of their own,
/// so nothing in /etc or /run is touched. `stop()` shuts them all down.
struct LocalSlurm {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    let directory: URL
    var conf: URL { directory.appendingPathComponent("slurm.conf") }
    /// What every Slurm client command of the test needs in its environment.
    var environment: [String: String] { ["SLURM_CONF": conf.path] }

    static let daemons = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch",
                          "/usr/bin/squeue", "/usr/bin/scontrol", "/usr/bin/sinfo"]

    /// Why the daemons cannot run here, or nil when they can be tried.
    static var unavailableReason: String? {
        let missing = daemons.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        if !missing.isEmpty { return "\(missing.joined(separator: ", ")) missing: install slurm-wlm and munge (scripts/setup.sh)" }
        if getuid() != 0 { return "slurmd must run as root (SlurmUser=root); this test runs as uid \(getuid())" }
        return nil
    }

    /// Starts munged, slurmctld and slurmd and waits until the node is idle; throws `Unavailable`
    /// with the daemons' log when they do not come up.
    static func start(in directory: URL) throws -> LocalSlurm {
        let slurm = LocalSlurm(directory: directory)
        try slurm.writeFiles()
        let d = directory.path
        try slurm.spawn("/usr/sbin/munged", ["--force", "--key-file=\(d)/munge.key", "--socket=\(d)/munge.socket",
                                             "--pid-file=\(d)/munged.pid", "--log-file=\(d)/log/munged.log",
                                             "--seed-file=\(d)/munged.seed"])
        try slurm.spawn("/usr/sbin/slurmctld", [])
        try slurm.spawn("/usr/sbin/slurmd", [])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let state = (try? slurm.run("/usr/bin/sinfo", ["-h", "-o", "%T"]).output) ?? ""
            if state.trimmingCharacters(in: .whitespacesAndNewlines) == "idle" { return slurm }
            usleep(250_000)
        }
        let logs = ["munged", "slurmctld", "slurmd"].map { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent("log/\(name).log"), encoding: .utf8)) ?? ""
            return "\(name).log: " + text.split(separator: "\n").suffix(5).joined(separator: "\n  ")
        }
        slurm.stop()
        throw Unavailable(description: "the node did not become idle within 60 s\n" + logs.joined(separator: "\n"))
    }

    private func writeFiles() throws {
        let fm = FileManager.default
        for sub in ["state", "spool", "log"] {
            try fm.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        // munged refuses a key others can read, and a socket directory others can write.
        chmod(directory.path, 0o700)
        var key = [UInt8](repeating: 0, count: 1024)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        let keyFile = directory.appendingPathComponent("munge.key")
        try Data(key).write(to: keyFile)
        chmod(keyFile.path, 0o400)
        let host = try run("/bin/hostname", ["-s"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let memoryMiB = ProcessInfo.processInfo.physicalMemory / (1 << 20)
        let port = 20_000 + Int(getpid() % 10_000) * 2
        let d = directory.path
        try """
            ClusterName=xmoetest
            SlurmctldHost=\(host)
            SlurmctldPort=\(port)
            SlurmdPort=\(port + 1)
            AuthType=auth/munge
            AuthInfo=socket=\(d)/munge.socket
            CredType=cred/munge
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation=\(d)/state
            SlurmdSpoolDir=\(d)/spool
            SlurmctldPidFile=\(d)/slurmctld.pid
            SlurmdPidFile=\(d)/slurmd.pid
            SlurmctldLogFile=\(d)/log/slurmctld.log
            SlurmdLogFile=\(d)/log/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            MpiDefault=none
            ReturnToService=2
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            NodeName=\(host) CPUs=\(ProcessInfo.processInfo.activeProcessorCount) RealMemory=\(memoryMiB) State=UNKNOWN
            PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES

            """.write(to: conf, atomically: true, encoding: .utf8)
    }

    /// Runs a daemon, which forks into the background and returns. posix_spawn + waitpid rather than
    /// Foundation's Process, whose waitUntilExit never returned here once the daemon had forked.
    private func spawn(_ path: String, _ arguments: [String]) throws {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let log = directory.appendingPathComponent("log/spawn.log").path
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw Unavailable(description: "cannot start \(path): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED and WEXITSTATUS, spelled out (the C macros are not imported).
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        if !exited || code != 0 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Unavailable(description: "\(path) failed (wait status \(status)): \(text)")
        }
    }

    /// Runs a Slurm command with this cluster's SLURM_CONF; returns its output (stdout and stderr).
    @discardableResult
    func run(_ path: String, _ arguments: [String], extraEnvironment: [String: String] = [:]) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment.merging(extraEnvironment, uniquingKeysWith: { $1 }) { env[k] = v }
        process.environment = env
        // A file, not a pipe: the daemons inherit these descriptors and outlive the command.
        let output = directory.appendingPathComponent("command-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        return (text, process.terminationStatus)
    }

    /// `scontrol shutdown` stops slurmctld and slurmd; munged is ended by its pid.
    func stop() {
        _ = try? run("/usr/bin/scontrol", ["shutdown"])
        for name in ["slurmctld", "slurmd", "munged"] {
            let pidFile = directory.appendingPathComponent("\(name).pid")
            let deadline = Date().addingTimeInterval(10)
            guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
                  let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            if name == "munged" { kill(pid, SIGTERM) }
            while kill(pid, 0) == 0 && Date() < deadline { usleep(100_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
    }
}
