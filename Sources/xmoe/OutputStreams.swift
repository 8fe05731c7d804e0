import Foundation

enum OutputStreams {
    /// True when standard output and standard error are the same file (a Slurm log, a sweep point's
    /// sweep.log, `cmd > log 2>&1`, one terminal): what the progress reporter already wrote on stderr
    /// is then in front of the reader, and stdout need not repeat it.
    static var shareOneFile: Bool {
        var out = stat(), err = stat()
        guard fstat(STDOUT_FILENO, &out) == 0, fstat(STDERR_FILENO, &err) == 0 else { return false }
        return out.st_dev == err.st_dev && out.st_ino == err.st_ino
    }
}
