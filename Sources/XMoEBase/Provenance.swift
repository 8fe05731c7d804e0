import Foundation

/// Which xmoe produced a file: the release version, and the git commit of the checkout the running
/// binary was built in.
///
/// SwiftPM has no portable way to stamp a commit into a build (a build-tool plugin would rerun git on
/// every build and recompile the module when the commit changes), so the commit is read at run time:
/// from the executable's directory upwards to the first `.git` (a checkout's `.build/<config>/xmoe`,
/// `swift run`, CI's fresh clone). It is the checkout's HEAD now, which is the build's commit unless the
/// checkout moved on without rebuilding; `-dirty` marks uncommitted changes to tracked files. An
/// installed binary outside any checkout reports the version alone (commit `nil`).
public enum Provenance {
    /// Bump with each release; `xmoe --version` prints it.
    public static let version = "0.1.0"

    /// `"<40 hex>"` or `"<40 hex>-dirty"`, or `nil` outside a git checkout (or without git).
    public static let commit: String? = lookUpCommit()

    /// `xmoe 0.1.0 (commit 0123abcd…)`; the full commit is in `commit`.
    public static var description: String {
        "xmoe \(version)" + (commit.map { " (commit \($0))" } ?? " (commit unknown: not run from a git checkout)")
    }

    /// A YAML comment line for files that must not change meaning (spec.resolved.yaml).
    public static var yamlComment: String {
        "# written by xmoe \(version), commit \(commit ?? "unknown")\n"
    }

    private static func lookUpCommit() -> String? {
        guard let checkout = checkoutDirectory() else { return nil }
        guard let head = git(["rev-parse", "HEAD"], in: checkout), head.count == 40 else { return nil }
        // Untracked files (build outputs, runs/) are not changes to the source.
        let status = git(["status", "--porcelain", "--untracked-files=no"], in: checkout)
        return head + ((status?.isEmpty ?? true) ? "" : "-dirty")
    }

    /// The nearest directory holding `.git` (a directory, or a worktree's `.git` file) above the
    /// running executable.
    static func checkoutDirectory() -> URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first.map(executablePath) ?? "")
            .resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" && !directory.path.isEmpty {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    private static func executablePath(_ argument0: String) -> String {
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return link }
        return argument0
    }

    private static func git(_ arguments: [String], in directory: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
