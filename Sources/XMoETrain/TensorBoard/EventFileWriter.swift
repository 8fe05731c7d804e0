import Foundation

/// A TensorBoard event file (`events.out.tfevents.<time>.<host>.<pid>`): TFRecords, each
/// `[u64 length][u32 masked CRC-32C of length][data][u32 masked CRC-32C of data]` (little-endian), whose
/// data are serialized `tensorflow.Event` messages. Only the fields xmoe needs are written:
///
///     Event      { double wall_time = 1; int64 step = 2; string file_version = 3;
///                  Summary summary = 5; SessionLog session_log = 7; }
///     Summary    { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
///     SessionLog { SessionStatus status = 1; }    START = 1
///
/// Each event is written straight to the file, so TensorBoard shows a step as soon as it ends.
public final class EventFileWriter {
    public let url: URL
    private let handle: FileHandle

    /// Creates a new event file in `directory` (created if needed) and writes the version event.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        var name = "events.out.tfevents.\(Int(now)).\(host).\(getpid())"
        var n = 0
        while FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            n += 1
            name = "events.out.tfevents.\(Int(now)).\(host).\(getpid()).\(n)"
        }
        url = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw TrainError.settings("cannot create the TensorBoard event file \(url.path); is the run directory writable?")
        }
        handle = try FileHandle(forWritingTo: url)
        var event = ProtobufWriter()
        event.double(1, now)
        event.string(3, "brain.Event:2")
        try write(record: event.bytes)
    }

    deinit { try? handle.close() }

    /// One event holding `scalars` (tag, value) at `step`.
    public func write(step: Int, scalars: [(tag: String, value: Double)], wallTime: Double = Date().timeIntervalSince1970) throws {
        var summary = ProtobufWriter()
        for (tag, value) in scalars {
            var v = ProtobufWriter()
            v.string(1, tag)
            v.float(2, Float(value))
            summary.data(1, v.bytes)
        }
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int(2, Int64(step))
        event.data(5, summary.bytes)
        try write(record: event.bytes)
    }

    /// SessionLog START at `step`: a resumed run tells TensorBoard to drop what an earlier session
    /// wrote at this step and later (rows the resume rolled back).
    public func writeRestart(step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var log = ProtobufWriter()
        log.int(1, 1)
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int(2, Int64(step))
        event.data(7, log.bytes)
        try write(record: event.bytes)
    }

    public func close() throws { try handle.close() }

    private func write(record data: [UInt8]) throws {
        var length: [UInt8] = []
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { length.append(contentsOf: $0) }
        var record = length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { record.append(contentsOf: $0) }
        record += data
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { record.append(contentsOf: $0) }
        try handle.write(contentsOf: record)
    }
}
