import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A message the user must see (a damaged checkpoint passed over, a damaged cache rebuilt), written
/// to standard error as a whole line: progress lines are rate-limited and redrawn, so they may drop it.
func trainNotice(_ message: String) {
    // On a terminal, clear a progress line being redrawn so the notice starts at column 0.
    let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
    FileHandle.standardError.write(Data((clear + "[train] " + message + "\n").utf8))
}
