import Foundation

/// What a finished program printed and how it ended.
public struct ProgramRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs `executable` with `arguments` and waits for it. Standard output and standard error are
/// read at the same time, so a program that fills one pipe while the test reads the other
/// cannot block. Standard input is empty.
public func runProgram(
    _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
) throws -> ProgramRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stderrRead = BackgroundRead(err.fileHandleForReading)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = stderrRead.wait() ?? Data()
    process.waitUntilExit()
    return ProgramRun(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}

/// The same, awaited: the wait happens on a thread of its own, so a test that runs programs
/// does not hold one of the few threads every other test running beside it shares (the
/// in-process status servers among them).
public func runProgram(
    _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
) async throws -> ProgramRun {
    try await onThread { try runProgram(executable, arguments, in: directory, environment: environment) }
}

/// Reads a file handle to its end on another thread.
final class BackgroundRead: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    // Written once on the reading thread before `finished` is signalled, read after the wait.
    private var data = Data()

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.finished.signal()
        }
    }

    /// What was read, once the end came; nil if it did not come within `timeout`.
    func wait(timeout: DispatchTime = .distantFuture) -> Data? {
        finished.wait(timeout: timeout) == .success ? data : nil
    }
}
