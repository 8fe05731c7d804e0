import Foundation
import Testing
@testable import XMoEStore

/// Interop with h5py (Debian's python3-h5py): files the Store writes must read as the same values
/// in Python, and files h5py writes must read (and append) correctly in the Store.
@Suite struct H5pyTests {
    /// One line per dataset: `D|path|dtype|shape|maxshape|chunks|compression|values`, and per
    /// attribute: `A|object|name|python type|dtype|values` (strings as UTF-8 hex).
    private static let listing = """
    f = h5py.File(sys.argv[1], 'r')
    def vals(a):
        return ','.join(repr(x) for x in np.asarray(a).ravel().tolist())
    def attrs(path, obj):
        for k, v in obj.attrs.items():
            if isinstance(v, str):
                print('A', path, k, 'str', '', v.encode('utf-8').hex(), sep='|')
            else:
                print('A', path, k, type(v).__name__, np.asarray(v).dtype.str, vals(v), sep='|')
    def show(name, obj):
        path = '/' + name
        if isinstance(obj, h5py.Dataset):
            ms = ','.join('None' if m is None else str(m) for m in (obj.maxshape or ()))
            print('D', path, obj.dtype.str, ','.join(map(str, obj.shape)), ms, obj.chunks, obj.compression,
                  vals(obj[()]), sep='|')
        attrs(path, obj)
    attrs('/', f)
    f.visititems(show)
    """

    private struct Listing {
        var datasets: [String: [String]] = [:]
        var attributes: [String: [String]] = [:]

        init(_ output: String) {
            for line in output.split(separator: "\n") {
                let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                if fields.first == "D" { datasets[fields[1]] = Array(fields.dropFirst(2)) }
                if fields.first == "A" { attributes[fields[1] + "@" + fields[2]] = Array(fields.dropFirst(3)) }
            }
        }
    }

    private static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    private static func pythonList<T>(_ values: [T]) -> String { values.map { "\($0)" }.joined(separator: ",") }

    @Test func h5pyReadsWhatTheStoreWrites() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/store.h5"
            let weights = (0..<12).map { Float($0) / 8 - 0.5 }
            let counts: [[Int64]] = [[5, 0, 3], [1, 7, 0]]
            do {
                let file = try StoreFile.create(at: path)
                try file.write("/model/layer_00/w", weights, shape: [3, 4], options: .deflate(level: 3))
                try file.write("/model/ids", [UInt64.max, 0, 1], shape: [3])
                let loss = try file.createSeries("/train/loss", of: Double.self, chunkRows: 16)
                try loss.append(rows: [3.5, 3.25, 3.0])
                let load = try file.createSeries("/moe/load", of: Int64.self, rowWidth: 3, chunkRows: 4)
                try load.append(rows: counts)
                try file.attributes.set("spec", "name: ünïcode ✓")
                try file.attributes.set("lr", 3e-4)
                try loss.attributes.set("step0", 1000)
                try loss.attributes.set("betas", .doubles([0.9, 0.95]))
                try loss.attributes.set("dims", .int64s([-1, 2]))
                try file.close()
            }
            let listing = Listing(try h5py(Self.listing, file: path))

            let w = try #require(listing.datasets["/model/layer_00/w"])
            #expect(Array(w[0..<5]) == ["<f4", "3,4", "3,4", "(3, 4)", "gzip"])
            #expect(w[5].split(separator: ",").map { Float($0) } == weights.map { Optional($0) })
            let ids = try #require(listing.datasets["/model/ids"])
            #expect(Array(ids[0..<2]) == ["<u8", "3"])
            #expect(ids[5] == "18446744073709551615,0,1")
            let loss = try #require(listing.datasets["/train/loss"])
            #expect(Array(loss[0..<4]) == ["<f8", "3", "None", "(16,)"])
            #expect(loss[5] == "3.5,3.25,3.0")
            let load = try #require(listing.datasets["/moe/load"])
            #expect(Array(load[0..<4]) == ["<i8", "2,3", "None,3", "(4, 3)"])
            #expect(load[5] == Self.pythonList(counts.joined().map { $0 }))

            #expect(listing.attributes["/@spec"] == ["str", "", Self.hex("name: ünïcode ✓")])
            #expect(listing.attributes["/@lr"] == ["float64", "<f8", "0.0003"])
            #expect(listing.attributes["/train/loss@step0"] == ["int64", "<i8", "1000"])
            #expect(listing.attributes["/train/loss@betas"] == ["ndarray", "<f8", "0.9,0.95"])
            #expect(listing.attributes["/train/loss@dims"] == ["ndarray", "<i8", "-1,2"])
        }
    }

    @Test func theStoreReadsAndAppendsToWhatH5pyWrites() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/h5py.h5"
            let writer = """
            with h5py.File(sys.argv[1], 'w') as f:
                f['a_f32'] = (np.arange(12, dtype='f4') / 8).reshape(3, 4)
                f['nested/a_i16'] = ((np.arange(5) - 2) * 1000).astype('i2')
                f['a_u64'] = np.array([0, 2**64 - 1], dtype='u8')
                f['big_endian'] = np.array([1.5, -2.25], dtype='>f8')
                f.create_dataset('train/loss', data=np.array([1.0, 0.5], dtype='f4'), maxshape=(None,), chunks=(2,))
                f.attrs['name'] = 'Ωmega'
                f.attrs['lr'] = 0.25
                f.attrs['n'] = np.int32(-7)
                f.attrs['half'] = np.float32(1.5)
                f.attrs['arr'] = np.array([1.5, -2.0])
                f.attrs['iarr'] = np.array([3, 4], dtype='u1')
                f.attrs['fixed'] = np.bytes_(b'fixed-len')
            """
            _ = try h5py(writer, file: path)
            do {
                let file = try StoreFile.open(at: path, mode: .readWrite)
                #expect(try file.read("a_f32", as: Float.self, shape: [3, 4]).values == (0..<12).map { Float($0) / 8 })
                #expect(try file.read("nested/a_i16", as: Int16.self).values == [-2000, -1000, 0, 1000, 2000])
                #expect(try file.read("a_u64", as: UInt64.self).values == [0, UInt64.max])
                #expect(try file.read("big_endian", as: Double.self).values == [1.5, -2.25])
                let attributes = file.attributes
                #expect(try attributes.get("name") == .string("Ωmega"))
                #expect(try attributes.get("lr") == .double(0.25))
                #expect(try attributes.get("n") == .int64(-7))
                #expect(try attributes.get("half") == .double(1.5))
                #expect(try attributes.get("arr") == .doubles([1.5, -2.0]))
                #expect(try attributes.get("iarr") == .int64s([3, 4]))
                #expect(try attributes.get("fixed") == .string("fixed-len"))
                #expect(try attributes.names() == ["arr", "fixed", "half", "iarr", "lr", "n", "name"])

                let loss = try file.series("train/loss", of: Float.self)
                try loss.append(0.25)
                try file.close()
            }
            let reread = try h5py("print(','.join(repr(x) for x in h5py.File(sys.argv[1], 'r')['train/loss'][()].tolist()))",
                                  file: path)
            #expect(reread.trimmingCharacters(in: .whitespacesAndNewlines) == "1.0,0.5,0.25")
        }
    }
}
