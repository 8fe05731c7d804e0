internal import CHDF5

/// Where an operation happens (file and object), used to turn failed C calls into `StoreError`s.
///
/// Creating a context turns off HDF5's automatic error printing for the calling thread: in the
/// thread-safe build the error stack and its print hook are per thread, so a setting made once on
/// another thread would not silence this one.
struct HDF5Context {
    let file: String
    let object: String?

    init(file: String, object: String?) {
        self.file = file
        self.object = object
        _ = H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    }

    func error(_ kind: StoreError.Kind, _ message: String) -> StoreError {
        StoreError(kind, file: file, object: object, message: message, detail: HDF5ErrorStack.takeMessages())
    }

    /// A failure found in Swift, with no HDF5 stack attached (and any stale one dropped).
    func plainError(_ kind: StoreError.Kind, _ message: String) -> StoreError {
        _ = H5Eclear2(hid_t(H5E_DEFAULT))
        return StoreError(kind, file: file, object: object, message: message)
    }

    @discardableResult
    func check(_ id: hid_t, _ what: @autoclosure () -> String) throws(StoreError) -> hid_t {
        if id < 0 { throw error(.hdf5, what()) }
        return id
    }

    func check(_ status: herr_t, _ what: @autoclosure () -> String) throws(StoreError) {
        if status < 0 { throw error(.hdf5, what()) }
    }
}

/// Reads and clears the calling thread's HDF5 error stack.
enum HDF5ErrorStack {
    private final class Lines { var items: [String] = [] }

    static func takeMessages() -> String {
        let lines = Lines()
        withExtendedLifetime(lines) {
            let box = Unmanaged.passUnretained(lines).toOpaque()
            _ = H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_DOWNWARD, { _, entry, data in
                guard let entry, let data else { return 0 }
                let lines = Unmanaged<Lines>.fromOpaque(data).takeUnretainedValue()
                let function = entry.pointee.func_name.map { String(cString: $0) } ?? "?"
                let desc = entry.pointee.desc.map { String(cString: $0) } ?? ""
                lines.items.append("\(function): \(desc)")
                return 0
            }, box)
        }
        _ = H5Eclear2(hid_t(H5E_DEFAULT))
        // The outermost call and the innermost cause say the most; the middle repeats itself.
        let items = lines.items
        if items.count <= 3 { return items.joined(separator: "; ") }
        return [items[0], items[items.count - 2], items[items.count - 1]].joined(separator: "; ")
    }
}

/// `H5P_DEFAULT` imports as Int32 while `hid_t` is Int64.
let h5Default = hid_t(H5P_DEFAULT)
