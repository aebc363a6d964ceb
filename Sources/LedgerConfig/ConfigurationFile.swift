import Foundation
import LedgerCore

/// Lexical path arithmetic: no file system access, no symlink resolution.
enum PathResolver {
    /// `path` made absolute against `base` (itself made absolute against the current
    /// directory when relative), with `.`, `..` and repeated slashes removed.
    static func absolute(_ path: String, relativeTo base: String) -> String {
        if path.hasPrefix("/") { return clean(path) }
        let base = base.hasPrefix("/") ? base : FileManager.default.currentDirectoryPath + "/" + base
        return clean(base + "/" + path)
    }

    /// An absolute path without `.`, `..` (above the root stays at the root) or empty parts.
    static func clean(_ path: String) -> String { PathBytes.normalized(path) }

    /// The folder holding `path`.
    static func directory(of path: String) -> String {
        clean(clean(path) + "/..")
    }
}

/// Reading the configuration file itself.
enum ConfigurationFile {
    /// Configuration files are a few kilobytes; anything this large is the wrong file.
    static let maxBytes = 1 << 20

    static func read(_ path: String, source: String) throws(ConfigurationError) -> String {
        func failure(_ message: String, line: Int? = nil) -> ConfigurationError {
            ConfigurationError(source: source, line: line, message: message)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("the configuration file does not exist (looked for \(path)).")
        }
        guard !isDirectory.boolValue else {
            throw failure("this is a folder; name the configuration file inside it, such as ledgerd.toml.")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw failure("the configuration file cannot be opened; check that ledgerd's user may read it.")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw failure("the configuration file cannot be read (\(error.localizedDescription)).")
        }
        guard data.count <= maxBytes else {
            throw failure(
                "the file is larger than 1 MiB, far too large for a configuration file; is it the right file?")
        }
        let bytes = [UInt8](data)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("the file is not UTF-8 text; save it as UTF-8.", line: lineOfInvalidUTF8(bytes))
        }
        return text
    }

    /// The 1-based line holding the first byte that is not valid UTF-8.
    static func lineOfInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var line = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                if scalar.count == 1, scalar.first == UInt8(ascii: "\n") { line += 1 }
            case .emptyInput, .error:
                return line
            }
        }
    }
}
