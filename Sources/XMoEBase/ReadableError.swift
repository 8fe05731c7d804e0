import Foundation

/// Foundation's file errors print as "The operation could not be completed. (NSCocoaErrorDomain
/// error 256.)" on Linux: no path, no reason. This turns them into "'<path>': <reason>", the reason
/// taken from the underlying POSIX error when there is one. Other errors keep their description.
public func readableDescription(of error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        ?? (ns.userInfo[NSURLErrorFailingURLErrorKey] as? URL)?.path
    var posix: Int32?
    if ns.domain == NSPOSIXErrorDomain { posix = Int32(ns.code) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        posix = Int32(underlying.code)
    }
    let reason: String
    if let posix {
        reason = posixReason(posix)
    } else {
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: reason = "no such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: reason = "permission denied"
        case NSFileReadInvalidFileNameError, NSFileWriteInvalidFileNameError: reason = "not a valid file name"
        case NSFileWriteFileExistsError: reason = "a file of that name already exists"
        case NSFileWriteOutOfSpaceError: reason = "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: reason = "the file system is read-only"
        case NSFileReadCorruptFileError: reason = "the file is corrupt or not in the expected format"
        case NSFileReadTooLargeError: reason = "the file is too large to read"
        case NSFileReadUnknownError: reason = "it cannot be read (is it a directory?)"
        case NSFileWriteUnknownError: reason = "it cannot be written (is the path a directory or below a file?)"
        default: reason = "file error \(ns.code)"
        }
    }
    return path.map { "'\($0)': \(reason)" } ?? reason
}

/// The C library's text for an errno value, lower-cased to read inside a sentence.
public func posixReason(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file or directory"
    case EISDIR: return "it is a directory, not a file"
    case ENOTDIR: return "a component of the path is not a directory"
    case EACCES, EPERM: return "permission denied"
    case ENOSPC: return "no space left on the device"
    default:
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
