import Foundation
import LaNN
import LaTensor

#if canImport(Glibc)
    import Glibc
#endif

/// Data-parallel communication over Open MPI: `DistributedContext`'s collectives as MPI's nonblocking ones
/// (`MPI_Iallreduce`, `MPI_Iallgather`, `MPI_Ireduce_scatter_block`, `MPI_Ibcast`, `MPI_Ibarrier`), each
/// waited on with a deadline, so a rank whose peer died stops with a `DistributedError` instead of hanging.
///
/// The library is loaded when the context is created (`dlopen` of Debian's `libmpi.so.40`, from
/// `libopenmpi-dev` / `openmpi-bin`), so the package builds and runs where Open MPI is not installed; only
/// creating an `MPIContext` there throws. Start the processes with `mpirun`:
///
/// ```sh
/// mpirun -np 2 .build/release/laclip train --output runs/ddp               # one machine, 2 processes
/// mpirun -np 4 --hostfile hosts --mca btl_tcp_if_include eth0 laclip train ...   # across machines
/// ```
///
/// ```swift
/// let context = try MPIContext()                         // MPI_Init_thread, once per process
/// let trainer = try CLIPTrainer(model: model, configuration: settings, distributed: context)
/// let loader = try ImageTextLoader(source: source, tokenizer: tokenizer, configuration: loaderSettings,
///                                  shard: LoaderShard(index: context.rank, count: context.worldSize))
/// ...
/// try context.finalize()
/// ```
///
/// Open MPI's ABI (its handles are pointers to exported globals such as `ompi_mpi_comm_world`) is what this
/// binds; MPICH's integer handles are not supported. Use the context from one thread at a time.
public final class MPIContext: DistributedContext {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The size of `MPI_COMM_WORLD`.
    public let worldSize: Int
    /// What has been communicated so far.
    public private(set) var statistics = CommunicationStatistics()
    /// A failure inside a pullback, thrown by the trainer after the backward pass.
    public var deferredFailure: DistributedError?
    /// The longest a collective may take before the rank gives up (seconds).
    public var timeout: Double
    /// The library's version string (`MPI_Get_library_version`).
    public let libraryVersion: String

    private let mpi: MPILibrary
    private var finalized = false

    /// Whether this process was started by Open MPI's `mpirun` / `mpiexec` (its environment has
    /// `OMPI_COMM_WORLD_SIZE`).
    public static var isLaunchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// The number of ranks of this job on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`, 1 without `mpirun`): divide
    /// the cores by it so that the ranks of one machine do not oversubscribe it.
    public static var localSize: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { Swift.max(1, $0) } ?? 1
    }

    /// The compute threads one rank should use: the cores of its CPU affinity mask when `mpirun` bound it to fewer
    /// cores than the machine has (its default for 2 ranks or fewer is one core each), else the machine's cores
    /// divided by the ranks on this machine. At least 1.
    public static var recommendedThreadCount: Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let allowed = affinityCoreCount, allowed < cores { return Swift.max(1, allowed) }
        return Swift.max(1, cores / localSize)
    }

    /// The number of CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status), or nil.
    static var affinityCoreCount: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        var count = 0
        for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2, bounds[1] >= bounds[0] { count += bounds[1] - bounds[0] + 1 } else if bounds.count == 1 { count += 1 } else { return nil }
        }
        return count > 0 ? count : nil
    }

    /// The default timeout: `LACLIP_MPI_TIMEOUT` seconds when set, else 600 (NCCL's default in PyTorch).
    public static var defaultTimeout: Double {
        if let text = ProcessInfo.processInfo.environment["LACLIP_MPI_TIMEOUT"], let value = Double(text), value > 0 { return value }
        return 600
    }

    /// Loads Open MPI and initialises it (`MPI_Init_thread`, serialized threads; errors are returned, not fatal).
    /// - Parameters:
    ///   - library: The shared library (default `LACLIP_MPI_LIBRARY`, else `libmpi.so.40`).
    ///   - timeout: The longest wait for one collective, in seconds.
    /// - Throws: `DistributedError` when the library cannot be loaded or initialised.
    public init(library: String? = nil, timeout: Double = MPIContext.defaultTimeout) throws(DistributedError) {
        let path = library ?? ProcessInfo.processInfo.environment["LACLIP_MPI_LIBRARY"] ?? "libmpi.so.40"
        mpi = try MPILibrary.shared(path: path)
        self.timeout = timeout
        var initialized: Int32 = 0
        try mpi.check(mpi.initialized(&initialized), "MPI_Initialized")
        if initialized == 0 {
            var provided: Int32 = 0
            try mpi.check(mpi.initThread(nil, nil, 2 /* MPI_THREAD_SERIALIZED */, &provided), "MPI_Init_thread")
        }
        try mpi.check(mpi.setErrorHandler(mpi.commWorld, mpi.errorsReturn), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try mpi.check(mpi.commRank(mpi.commWorld, &rank), "MPI_Comm_rank")
        try mpi.check(mpi.commSize(mpi.commWorld, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.worldSize = Int(size)
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = mpi.libraryVersion(&buffer, &length)
        libraryVersion = MPILibrary.string(buffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Ends MPI for this process (`MPI_Finalize`, after a barrier with the same deadline). Call once at the end of
    /// a successful run; after a `DistributedError` call `abort(code:)` instead.
    /// - Throws: `DistributedError`.
    public func finalize() throws(DistributedError) {
        guard !finalized else { return }
        try barrier()
        finalized = true
        try mpi.check(mpi.finalize(), "MPI_Finalize")
    }

    /// Stops every process of the job (`MPI_Abort`): the way out after a failed collective, so that no rank waits
    /// for one that will never come.
    /// - Parameter code: The exit status.
    public func abort(code: Int32) -> Never {
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)
    }

    // MARK: Collectives

    /// Sums `buffer` over all ranks, in place.
    /// - Parameter buffer: The values.
    /// - Throws: `DistributedError`.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        try startAllReduceSum(buffer).wait()
    }

    /// Sums `buffer` over all ranks, in place.
    /// - Parameter buffer: The values.
    /// - Throws: `DistributedError`.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(DistributedError) {
        try start("all-reduce", bytes: buffer.count * 8) { request in
            mpi.iallreduce(MPILibrary.inPlace, UnsafeMutableRawPointer(buffer.baseAddress), Int32(buffer.count), mpi.double, mpi.sum, mpi.commWorld, request)
        }.wait()
    }

    /// Starts summing `buffer` over all ranks in place.
    /// - Parameter buffer: The values (alive and untouched until the request completes).
    /// - Returns: The request.
    /// - Throws: `DistributedError`.
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) -> any CollectiveRequest {
        try start("all-reduce", bytes: buffer.count * 4) { request in
            mpi.iallreduce(MPILibrary.inPlace, UnsafeMutableRawPointer(buffer.baseAddress), Int32(buffer.count), mpi.float, mpi.sum, mpi.commWorld, request)
        }
    }

    /// Concatenates every rank's part in rank order.
    /// - Parameters:
    ///   - local: This rank's part.
    ///   - gathered: `worldSize × local.count` values.
    /// - Throws: `DistributedError`.
    public func allGather(_ local: UnsafeBufferPointer<Float>, into gathered: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        checkPrecondition(gathered.count == worldSize * local.count, "allGather: \(local.count) values per rank into \(gathered.count) on \(worldSize) ranks")
        try start("all-gather", bytes: local.count * 4) { request in
            mpi.iallgather(UnsafeRawPointer(local.baseAddress), Int32(local.count), mpi.float, UnsafeMutableRawPointer(gathered.baseAddress),
                           Int32(local.count), mpi.float, mpi.commWorld, request)
        }.wait()
    }

    /// Sums `input` over all ranks and keeps this rank's part.
    /// - Parameters:
    ///   - input: `worldSize × result.count` values.
    ///   - result: This rank's part of the sum.
    /// - Throws: `DistributedError`.
    public func reduceScatterSum(_ input: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        checkPrecondition(input.count == worldSize * result.count, "reduceScatterSum: \(input.count) values for parts of \(result.count) on \(worldSize) ranks")
        try start("reduce-scatter", bytes: input.count * 4) { request in
            mpi.ireduceScatterBlock(UnsafeRawPointer(input.baseAddress), UnsafeMutableRawPointer(result.baseAddress), Int32(result.count),
                                    mpi.float, mpi.sum, mpi.commWorld, request)
        }.wait()
    }

    /// Copies rank `root`'s bytes to every rank.
    /// - Parameters:
    ///   - buffer: The bytes.
    ///   - root: The sending rank.
    /// - Throws: `DistributedError`.
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {
        checkPrecondition((0..<worldSize).contains(root), "broadcast: root \(root) outside 0..<\(worldSize)")
        var offset = 0
        repeat {  // MPI counts are Int32: large buffers go in pieces
            let count = Swift.min(buffer.count - offset, 1 << 30)
            try start("broadcast", bytes: rank == root ? count : 0) { request in
                mpi.ibcast(buffer.baseAddress.map { $0 + offset }, Int32(count), mpi.byte, Int32(root), mpi.commWorld, request)
            }.wait()
            offset += count
        } while offset < buffer.count
    }

    /// Waits for every rank.
    /// - Throws: `DistributedError`.
    public func barrier() throws(DistributedError) {
        try start("barrier", bytes: 0) { request in mpi.ibarrier(mpi.commWorld, request) }.wait()
    }

    // MARK: Requests

    private func start(_ operation: String, bytes: Int, _ call: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32)
        throws(DistributedError) -> MPIRequest
    {
        if let deferredFailure { throw DistributedError(operation: operation, message: "not started after an earlier failure: \(deferredFailure.message)") }
        guard !finalized else { throw DistributedError(operation: operation, message: "MPI was finalized") }
        let request = MPIRequest(context: self, operation: operation)
        try mpi.check(call(request.handle), operation)
        statistics.bytes += bytes
        statistics.calls += 1
        return request
    }

    fileprivate func test(_ request: MPIRequest) throws(DistributedError) -> Bool {
        var flag: Int32 = 0
        try mpi.check(mpi.test(request.handle, &flag, nil), request.operation)
        return flag != 0
    }

    fileprivate func wait(_ request: MPIRequest) throws(DistributedError) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { statistics.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var spins = 0
        while try !test(request) {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed > timeout {
                let failure = DistributedError(
                    operation: request.operation,
                    message: "rank \(rank) of \(worldSize) waited \(Int(timeout)) s without completing: another rank has probably died or "
                        + "stopped calling collectives (raise LACLIP_MPI_TIMEOUT for long evaluations on rank 0)")
                deferredFailure = failure
                throw failure
            }
            // Spin briefly (latency), then back off so that a waiting rank leaves its core to the others.
            spins += 1
            if spins > 200 { usleep(spins > 2000 ? 200 : 20) }
        }
    }
}

/// One nonblocking MPI call in flight.
final class MPIRequest: CollectiveRequest {
    let handle = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
    let operation: String
    unowned let context: MPIContext
    private var done = false

    init(context: MPIContext, operation: String) {
        self.context = context
        self.operation = operation
        handle.initialize(to: nil)
    }

    deinit { handle.deallocate() }

    func test() throws(DistributedError) -> Bool {
        if done { return true }
        done = try context.test(self)
        return done
    }

    func wait() throws(DistributedError) {
        if done { return }
        try context.wait(self)
        done = true
    }
}

/// The entry points and handles of Open MPI, resolved once with `dlopen` / `dlsym`.
final class MPILibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    typealias RequestPointer = UnsafeMutablePointer<UnsafeMutableRawPointer?>

    static var inPlace: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }  // MPI_IN_PLACE
    nonisolated(unsafe) private static var loaded: [String: MPILibrary] = [:]
    private static let lock = NSLock()

    let commWorld: Handle, float: Handle, double: Handle, byte: Handle, sum: Handle, errorsReturn: Handle
    typealias InitializedFunction = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let initialized: InitializedFunction
    typealias InitThreadFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
    let initThread: InitThreadFunction
    typealias FinalizeFunction = @convention(c) () -> Int32
    let finalize: FinalizeFunction
    typealias AbortFunction = @convention(c) (Handle, Int32) -> Int32
    let abort: AbortFunction
    typealias CommRankFunction = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commRank: CommRankFunction
    typealias CommSizeFunction = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: CommSizeFunction
    typealias SetErrorHandlerFunction = @convention(c) (Handle, Handle) -> Int32
    let setErrorHandler: SetErrorHandlerFunction
    typealias ErrorStringFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let errorString: ErrorStringFunction
    typealias LibraryVersionFunction = @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let libraryVersion: LibraryVersionFunction
    typealias IallreduceFunction = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle, RequestPointer) -> Int32
    let iallreduce: IallreduceFunction
    typealias IallgatherFunction = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle, RequestPointer) -> Int32
    let iallgather: IallgatherFunction
    typealias IreduceScatterBlockFunction = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle, RequestPointer) -> Int32
    let ireduceScatterBlock: IreduceScatterBlockFunction
    typealias IbcastFunction = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle, RequestPointer) -> Int32
    let ibcast: IbcastFunction
    typealias IbarrierFunction = @convention(c) (Handle, RequestPointer) -> Int32
    let ibarrier: IbarrierFunction
    typealias TestFunction = @convention(c) (RequestPointer, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
    let test: TestFunction

    static func shared(path: String) throws(DistributedError) -> MPILibrary {
        lock.lock()
        defer { lock.unlock() }
        if let library = loaded[path] { return library }
        let library = try MPILibrary(path: path)
        loaded[path] = library
        return library
    }

    private init(path: String) throws(DistributedError) {
        // RTLD_GLOBAL: Open MPI's plugins (mca components) resolve their symbols against libmpi.
        guard let library = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw DistributedError(
                operation: "dlopen", message: "cannot load Open MPI (\(reason)); install it with apt-get install libopenmpi-dev openmpi-bin, "
                    + "or set LACLIP_MPI_LIBRARY to its libmpi.so")
        }
        func symbol(_ name: String) throws(DistributedError) -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(library, name) else {
                throw DistributedError(operation: "dlsym", message: "\(path) has no symbol \(name): not an Open MPI library (MPICH is not supported)")
            }
            return pointer
        }
        func function<F>(_ name: String, as type: F.Type) throws(DistributedError) -> F { unsafeBitCast(try symbol(name), to: type) }
        commWorld = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        byte = try symbol("ompi_mpi_byte")
        sum = try symbol("ompi_mpi_op_sum")
        errorsReturn = try symbol("ompi_mpi_errors_return")
        initialized = try function("MPI_Initialized", as: InitializedFunction.self)
        initThread = try function("MPI_Init_thread", as: InitThreadFunction.self)
        finalize = try function("MPI_Finalize", as: FinalizeFunction.self)
        abort = try function("MPI_Abort", as: AbortFunction.self)
        commRank = try function("MPI_Comm_rank", as: CommRankFunction.self)
        commSize = try function("MPI_Comm_size", as: CommSizeFunction.self)
        setErrorHandler = try function("MPI_Comm_set_errhandler", as: SetErrorHandlerFunction.self)
        errorString = try function("MPI_Error_string", as: ErrorStringFunction.self)
        libraryVersion = try function("MPI_Get_library_version", as: LibraryVersionFunction.self)
        iallreduce = try function("MPI_Iallreduce", as: IallreduceFunction.self)
        iallgather = try function("MPI_Iallgather", as: IallgatherFunction.self)
        ireduceScatterBlock = try function("MPI_Ireduce_scatter_block", as: IreduceScatterBlockFunction.self)
        ibcast = try function("MPI_Ibcast", as: IbcastFunction.self)
        ibarrier = try function("MPI_Ibarrier", as: IbarrierFunction.self)
        test = try function("MPI_Test", as: TestFunction.self)
    }

    /// The text of a NUL-terminated C buffer.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Throws the MPI error string for a non-zero return code.
    func check(_ code: Int32, _ operation: String) throws(DistributedError) {
        guard code != 0 else { return }
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = errorString(code, &buffer, &length)
        throw DistributedError(operation: operation, message: "MPI error \(code): \(MPILibrary.string(buffer))")
    }
}
