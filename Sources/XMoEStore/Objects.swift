internal import CHDF5

/// What a path inside a file names.
public enum StoreObjectKind: String, Sendable {
    case group, dataset, other
}

/// Path-level queries shared by groups, datasets, series and attributes.
extension StoreFile {
    /// True when every component of the absolute path `path` exists (HDF5 itself fails, rather
    /// than answering false, when an intermediate group is missing).
    func linkExists(_ path: String, fid: hid_t, context: HDF5Context) throws(StoreError) -> Bool {
        var prefix = ""
        for part in StorePath.components(path) {
            prefix += "/" + part
            let found = H5Lexists(fid, prefix, h5Default)
            if found < 0 { throw context.error(.hdf5, "cannot test whether \(prefix) exists") }
            if found == 0 { return false }
        }
        return true
    }

    func objectKind(_ path: String, fid: hid_t, context: HDF5Context) throws(StoreError) -> StoreObjectKind {
        guard try linkExists(path, fid: fid, context: context) else {
            throw context.plainError(.pathNotFound, "nothing at \(path) in the file")
        }
        var info = H5O_info_t()
        try context.check(H5Oget_info_by_name2(fid, path, &info, UInt32(H5O_INFO_BASIC), h5Default),
                          "read object info of \(path)")
        switch info.type {
        case H5O_TYPE_GROUP: return .group
        case H5O_TYPE_DATASET: return .dataset
        default: return .other
        }
    }

    func requireKind(_ kind: StoreObjectKind, at path: String, fid: hid_t,
                     context: HDF5Context) throws(StoreError) {
        let found = try objectKind(path, fid: fid, context: context)
        guard found == kind else {
            throw context.plainError(.wrongObjectKind, "\(path) is a \(found.rawValue), not a \(kind.rawValue)")
        }
    }

    /// Link-creation properties that create missing intermediate groups.
    func intermediateGroupsList(_ context: HDF5Context) throws(StoreError) -> hid_t {
        let lcpl = try context.check(H5Pcreate(xh5_p_link_create()), "create link properties")
        try context.check(H5Pset_create_intermediate_group(lcpl, 1), "enable intermediate groups")
        return lcpl
    }

    /// Throws `alreadyExists` when something is at `path`: new objects never replace old ones silently.
    func requireAbsent(_ path: String, fid: hid_t, context: HDF5Context) throws(StoreError) {
        if try linkExists(path, fid: fid, context: context) {
            throw context.plainError(.alreadyExists, "\(path) already exists; remove it first to replace it")
        }
    }
}
