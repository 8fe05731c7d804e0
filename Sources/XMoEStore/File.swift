internal import CHDF5
import Foundation

/// An open HDF5 file.
///
/// One thread at a time: the handle is not `Sendable` and carries no lock of its own (HDF5 here
/// is a thread-safe build, so distinct files may be used from distinct threads). Close it with
/// `close()` to see errors; `deinit` closes a file that is still open and drops any error.
/// Objects (groups, datasets, attributes) are opened and closed inside each call, so no C handle
/// outlives the call that needed it and `close()` really releases the file.
public final class StoreFile {
    public enum Mode: Sendable {
        case readOnly, readWrite
    }

    /// Path of the file on disk, as given.
    public let path: String
    public let mode: Mode
    private var id: hid_t

    private init(path: String, mode: Mode, id: hid_t) {
        self.path = path
        self.mode = mode
        self.id = id
    }

    deinit {
        if id >= 0 {
            _ = H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
            _ = H5Fclose(id)
        }
    }

    /// Creates a new file, replacing any file already at `path`.
    public static func create(at path: String) throws -> StoreFile {
        let context = HDF5Context(file: path, object: nil)
        let fapl = try fileAccessList(context)
        defer { H5Pclose(fapl) }
        let id = H5Fcreate(path, xh5_f_acc_trunc(), h5Default, fapl)
        if id < 0 { throw context.error(.io, "cannot create the file (is its directory present and writable?)") }
        return StoreFile(path: path, mode: .readWrite, id: id)
    }

    /// Opens an existing file. `fileLocking: false` skips HDF5's flock, so a reader can open a file that
    /// another process holds open for writing (a live run's metrics.h5); the writer must then only
    /// append and flush, as MetricsWriter does, for what the reader sees to be consistent.
    public static func open(at path: String, mode: Mode = .readOnly, fileLocking: Bool = true) throws -> StoreFile {
        let context = HDF5Context(file: path, object: nil)
        guard FileManager.default.fileExists(atPath: path) else {
            throw context.plainError(.fileNotFound, "no such file; check the path")
        }
        let fapl = try fileAccessList(context)
        defer { H5Pclose(fapl) }
        if !fileLocking {
            try context.check(H5Pset_file_locking(fapl, false, true), "turn file locking off")
        }
        let flags = mode == .readOnly ? xh5_f_acc_rdonly() : xh5_f_acc_rdwr()
        let id = H5Fopen(path, flags, fapl)
        if id < 0 {
            throw context.error(.io, "cannot open the file \(mode == .readOnly ? "read-only" : "read-write") "
                + "(not an HDF5 file, no permission, or locked by another process?)")
        }
        return StoreFile(path: path, mode: mode, id: id)
    }

    /// Strong close degree: closing the file closes anything still open in it, so the file is
    /// really released (and can be renamed or reopened) when `close()` returns.
    private static func fileAccessList(_ context: HDF5Context) throws(StoreError) -> hid_t {
        let fapl = try context.check(H5Pcreate(xh5_p_file_access()), "create file access properties")
        try context.check(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), "set close degree")
        return fapl
    }

    public var isOpen: Bool { id >= 0 }

    /// Writes HDF5's buffers for this file to the operating system.
    public func flush() throws {
        let (context, fid) = try handle(object: nil)
        try context.check(H5Fflush(fid, H5F_SCOPE_GLOBAL), "flush the file")
    }

    /// Closes the file; closing twice is allowed and does nothing.
    public func close() throws {
        guard id >= 0 else { return }
        let context = HDF5Context(file: path, object: nil)
        let status = H5Fclose(id)
        id = -1
        try context.check(status, "close the file")
    }

    /// The root group `/`; attributes on it are the file's attributes (h5py's `File.attrs`).
    public var root: StoreGroup { StoreGroup(file: self, path: "/") }

    /// HDF5 objects open in this file, the file itself included: 1 between calls, since every
    /// call closes what it opened. Tests use it to catch leaked handles.
    var openObjectCount: Int {
        guard id >= 0 else { return 0 }
        let all = UInt32(H5F_OBJ_FILE | H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR)
        return H5Fget_obj_count(id, all)
    }

    /// An error context for `object` and the open file id, or `fileClosed`.
    func handle(object: String?) throws(StoreError) -> (HDF5Context, hid_t) {
        let context = HDF5Context(file: path, object: object)
        guard id >= 0 else { throw context.plainError(.fileClosed, "the file was already closed") }
        return (context, id)
    }

    func writableHandle(object: String?) throws(StoreError) -> (HDF5Context, hid_t) {
        let (context, fid) = try handle(object: object)
        guard mode == .readWrite else {
            throw context.plainError(.readOnly, "the file was opened read-only; open it with mode .readWrite")
        }
        return (context, fid)
    }
}
