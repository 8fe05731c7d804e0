/// A failure of the Store layer, naming the file, the object inside it and what went wrong.
///
/// `detail` carries HDF5's own error stack (captured, never printed) when the C library failed.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case fileNotFound = "file not found"
        case pathNotFound = "path not found"
        case alreadyExists = "already exists"
        case wrongObjectKind = "wrong object kind"
        case typeMismatch = "element type mismatch"
        case shapeMismatch = "shape mismatch"
        case invalidArgument = "invalid argument"
        case fileClosed = "file is closed"
        case readOnly = "file is read-only"
        case io = "I/O error"
        case hdf5 = "HDF5 error"
    }

    public let kind: Kind
    /// Path of the HDF5 file on disk.
    public let file: String
    /// Path of the object inside the file (`/model/layer_00/w`), or `nil` for whole-file failures.
    public let object: String?
    /// What failed, in words meant for the user.
    public let message: String
    /// HDF5's error stack, innermost cause last; empty when the failure was detected in Swift.
    public let detail: String

    public init(_ kind: Kind, file: String, object: String?, message: String, detail: String = "") {
        self.kind = kind
        self.file = file
        self.object = object
        self.message = message
        self.detail = detail
    }

    public var description: String {
        var text = "\(file)"
        if let object { text += ":\(object)" }
        text += ": \(kind.rawValue): \(message)"
        if !detail.isEmpty { text += " (HDF5: \(detail))" }
        return text
    }
}
