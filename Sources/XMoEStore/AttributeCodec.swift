internal import CHDF5

/// Converts `AttributeValue`s to and from HDF5 attributes on an open object.
enum AttributeCodec {
    static func write(_ value: AttributeValue, name: String, on object: hid_t,
                      context: HDF5Context) throws(StoreError) {
        switch value {
        case .string(let text):
            let type = try utf8StringType(context)
            defer { H5Tclose(type) }
            let attribute = try create(name, type: type, count: nil, on: object, context: context)
            defer { H5Aclose(attribute) }
            let status = text.withCString { chars in
                var pointer: UnsafePointer<CChar>? = chars
                return H5Awrite(attribute, type, &pointer)
            }
            try context.check(status, "write attribute '\(name)'")
        case .double(let number):
            try writeNumbers([number], scalar: true, name: name, on: object, context: context)
        case .int64(let number):
            try writeNumbers([number], scalar: true, name: name, on: object, context: context)
        case .doubles(let numbers):
            try writeNumbers(numbers, scalar: false, name: name, on: object, context: context)
        case .int64s(let numbers):
            try writeNumbers(numbers, scalar: false, name: name, on: object, context: context)
        }
    }

    private static func writeNumbers<T: StoreElement>(_ values: [T], scalar: Bool, name: String, on object: hid_t,
                                                      context: HDF5Context) throws(StoreError) {
        let type = T.storeElementType.nativeTypeID
        let attribute = try create(name, type: type, count: scalar ? nil : values.count, on: object, context: context)
        defer { H5Aclose(attribute) }
        guard !values.isEmpty else { return }
        let status = values.withUnsafeBytes { H5Awrite(attribute, type, $0.baseAddress) }
        try context.check(status, "write attribute '\(name)'")
    }

    /// `count == nil` makes a scalar attribute, else a 1-D one.
    private static func create(_ name: String, type: hid_t, count: Int?, on object: hid_t,
                               context: HDF5Context) throws(StoreError) -> hid_t {
        let space: hid_t
        if let count {
            var dims = [hsize_t(count)]
            space = try context.check(H5Screate_simple(1, &dims, nil), "create attribute dataspace")
        } else {
            space = try context.check(H5Screate(H5S_SCALAR), "create attribute dataspace")
        }
        defer { H5Sclose(space) }
        return try context.check(H5Acreate2(object, name, type, space, h5Default, h5Default),
                                 "create attribute '\(name)'")
    }

    private static func utf8StringType(_ context: HDF5Context) throws(StoreError) -> hid_t {
        let type = try context.check(H5Tcopy(xh5_c_s1()), "copy the string type")
        try context.check(H5Tset_size(type, xh5_t_variable()), "make the string variable-length")
        try context.check(H5Tset_cset(type, H5T_CSET_UTF8), "set UTF-8")
        return type
    }

    static func read(name: String, on object: hid_t, context: HDF5Context) throws(StoreError) -> AttributeValue {
        let attribute = try context.check(H5Aopen(object, name, h5Default), "open attribute '\(name)'")
        defer { H5Aclose(attribute) }
        let type = try context.check(H5Aget_type(attribute), "read the type of attribute '\(name)'")
        defer { H5Tclose(type) }
        let space = try context.check(H5Aget_space(attribute), "read the shape of attribute '\(name)'")
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        let count = H5Sget_simple_extent_npoints(space)
        guard rank == 0 || rank == 1, count >= 0 else {
            throw context.plainError(.typeMismatch, "attribute '\(name)' has rank \(rank); only scalars and 1-D arrays are read")
        }
        switch H5Tget_class(type) {
        case H5T_STRING:
            guard rank == 0 else {
                throw context.plainError(.typeMismatch, "attribute '\(name)' is a string array; only single strings are read")
            }
            return .string(try readString(attribute, fileType: type, name: name, context: context))
        case H5T_INTEGER:
            let values: [Int64] = try readNumbers(attribute, count: Int(count), name: name, context: context)
            return rank == 0 ? .int64(values[0]) : .int64s(values)
        case H5T_FLOAT:
            let values: [Double] = try readNumbers(attribute, count: Int(count), name: name, context: context)
            return rank == 0 ? .double(values[0]) : .doubles(values)
        default:
            throw context.plainError(.typeMismatch, "attribute '\(name)' is not a string, integer or float")
        }
    }

    /// HDF5 converts any integer or float width to the requested native type.
    private static func readNumbers<T: StoreElement>(_ attribute: hid_t, count: Int, name: String,
                                                     context: HDF5Context) throws(StoreError) -> [T] {
        var failure: StoreError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0 else { return }
            if H5Aread(attribute, T.storeElementType.nativeTypeID, buffer.baseAddress) < 0 {
                failure = context.error(.hdf5, "read attribute '\(name)'")
                return
            }
            initialized = count
        }
        if let failure { throw failure }
        return values
    }

    private static func readString(_ attribute: hid_t, fileType: hid_t, name: String,
                                   context: HDF5Context) throws(StoreError) -> String {
        let memoryType = try context.check(H5Tcopy(xh5_c_s1()), "copy the string type")
        defer { H5Tclose(memoryType) }
        _ = H5Tset_cset(memoryType, H5Tget_cset(fileType))
        if H5Tis_variable_str(fileType) > 0 {
            try context.check(H5Tset_size(memoryType, xh5_t_variable()), "make the string variable-length")
            var pointer: UnsafeMutablePointer<CChar>?
            try context.check(H5Aread(attribute, memoryType, &pointer), "read attribute '\(name)'")
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        // Fixed-length (as numpy bytes are stored): read with room for a terminating NUL.
        let size = H5Tget_size(fileType)
        try context.check(H5Tset_size(memoryType, size + 1), "size the string type")
        try context.check(H5Tset_strpad(memoryType, H5T_STR_NULLTERM), "NUL-terminate the string type")
        var buffer = [UInt8](repeating: 0, count: size + 1)
        try context.check(H5Aread(attribute, memoryType, &buffer), "read attribute '\(name)'")
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}
