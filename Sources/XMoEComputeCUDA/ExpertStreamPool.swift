/// Side streams for the per-expert GEMMs, each with a cuBLAS handle of its own (a handle's
/// workspace belongs to one stream; sharing one across streams would race and could change
/// results), and the events that fork them off the backend's stream and join them back. Work
/// before the fork and after the join stays in the backend's one stream order, so the caching
/// allocator's stream-ordered reuse remains safe.
final class ExpertStreamPool: @unchecked Sendable {
    /// cudaEventCreateWithFlags, cudaEventRecord, cudaStreamWaitEvent: bound here rather than in
    /// CUDARuntimeAPI so that the backend's required symbols stay as they were.
    struct EventAPI {
        let eventCreateWithFlags: @convention(c) (UnsafeMutablePointer<Handle>, UInt32) -> Int32
        let eventRecord: @convention(c) (Handle, Handle) -> Int32
        let streamWaitEvent: @convention(c) (Handle, Handle, UInt32) -> Int32
        static let disableTiming: UInt32 = 2

        init() throws {
            let lib = try DynamicLibrary(name: "libcudart", candidates: CUDALibraryNames.runtime)
            eventCreateWithFlags = try lib.function("cudaEventCreateWithFlags")
            eventRecord = try lib.function("cudaEventRecord")
            streamWaitEvent = try lib.function("cudaStreamWaitEvent")
        }
    }

    let events: EventAPI
    /// Side streams 1..<count (stream 0 is the backend's own) and their cuBLAS handles.
    let streams: [Handle]
    let handles: [Handle]
    let fork: Handle
    let joins: [Handle]
    /// Streams available, the backend's own included.
    var count: Int { streams.count + 1 }

    init(context: CUDAContext, sideStreams: Int) throws {
        events = try EventAPI()
        var streams: [Handle] = [], handles: [Handle] = [], joins: [Handle] = []
        for _ in 0..<sideStreams {
            var stream: Handle = nil, handle: Handle = nil, join: Handle = nil
            try context.runtime.check(context.runtime.streamCreateWithFlags(&stream, CUDARuntimeAPI.streamNonBlocking), "cudaStreamCreateWithFlags")
            try context.cublas.check(context.cublas.create(&handle), "cublasCreate")
            try context.cublas.check(context.cublas.setStream(handle, stream), "cublasSetStream")
            try context.runtime.check(events.eventCreateWithFlags(&join, EventAPI.disableTiming), "cudaEventCreateWithFlags")
            streams.append(stream); handles.append(handle); joins.append(join)
        }
        var fork: Handle = nil
        try context.runtime.check(events.eventCreateWithFlags(&fork, EventAPI.disableTiming), "cudaEventCreateWithFlags")
        (self.streams, self.handles, self.joins, self.fork) = (streams, handles, joins, fork)
    }

    /// Makes side streams 1..<used wait for everything queued on `main` so far.
    func fork(from main: Handle, used: Int, _ context: CUDAContext) {
        guard used > 1 else { return }
        context.checkRuntime(events.eventRecord(fork, main), "cudaEventRecord (expert GEMM fork)")
        for s in 0..<(used - 1) {
            context.checkRuntime(events.streamWaitEvent(streams[s], fork, 0), "cudaStreamWaitEvent (expert GEMM fork)")
        }
    }

    /// Makes `main` wait for everything queued on side streams 1..<used.
    func join(into main: Handle, used: Int, _ context: CUDAContext) {
        guard used > 1 else { return }
        for s in 0..<(used - 1) {
            context.checkRuntime(events.eventRecord(joins[s], streams[s]), "cudaEventRecord (expert GEMM join)")
            context.checkRuntime(events.streamWaitEvent(main, joins[s], 0), "cudaStreamWaitEvent (expert GEMM join)")
        }
    }
}
