import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Static files confined to the web root: a path whose real location (every symlink resolved)
/// is not inside the root's real location does not exist as far as the server is concerned,
/// and neither do dot-files. `FileMiddleware` itself refuses `..` but follows symlinks.
struct ConfinedFileSystem: FileProvider {
    typealias FileAttributes = LocalFileSystem.FileAttributes
    typealias FileIdentifier = String

    /// Real path of the web root, without a trailing slash.
    let root: String
    let local: LocalFileSystem

    init(root: String, logger: Logger) throws {
        guard let real = Self.realPath(root) else { throw StatusServerError.webRootMissing(root) }
        self.root = real
        self.local = LocalFileSystem(rootFolder: real, threadPool: .singleton, logger: logger)
    }

    func getFileIdentifier(_ path: String) -> String? {
        guard !path.utf8.contains(0) else { return nil }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        // ".", "..", ".git", ".env", …: never served.
        guard !components.contains(where: { $0.hasPrefix(".") }) else { return nil }
        let candidate = components.isEmpty ? root : root + "/" + components.joined(separator: "/")
        guard let real = Self.realPath(candidate), Self.isInside(real, root: root) else { return nil }
        return real
    }

    func getAttributes(id: String) async throws -> FileAttributes? {
        try await local.getAttributes(id: id)
    }

    func loadFile(id: String, context: some RequestContext) async throws -> ResponseBody {
        try await local.loadFile(id: id, context: context)
    }

    func loadFile(id: String, range: ClosedRange<Int>, context: some RequestContext) async throws -> ResponseBody {
        try await local.loadFile(id: id, range: range, context: context)
    }

    static func isInside(_ path: String, root: String) -> Bool {
        PathKey(path) == PathKey(root) || PathBytes.isInside(path, root)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

enum Security {
    /// Headers on every response.
    static let headers: [(HTTPField.Name, String)] = [
        (
            HTTPField.Name("Content-Security-Policy")!,
            "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Cross-Origin-Resource-Policy")!, "same-origin"),
    ]

    /// Compares a presented token with the configured one in time that depends only on the
    /// configured token's length.
    static func tokensMatch(presented: String, expected: String) -> Bool {
        let a = Array(presented.utf8)
        let b = Array(expected.utf8)
        guard !b.isEmpty else { return false }
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<b.count {
            let x = i < a.count ? a[i] : 0
            difference |= x ^ b[i]
        }
        return difference == 0
    }

    /// The token from `Authorization: Bearer <token>`, if the header has that form.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        return String(trimmed.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The host name of a `Host` header value (`[::1]:8080` → `::1`, `Localhost:80` → `localhost`).
    static func hostName(_ authority: String) -> String {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            if let end = host.firstIndex(of: "]") { host = host[host.index(after: host.startIndex)..<end] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// A plain file name: not empty, no path separator, no NUL, not `.`/`..`, at most 255 bytes.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.contains("/") && !name.contains("\\")
            && !name.utf8.contains(0) && name != "." && name != ".."
    }
}

/// The outermost middleware: refuses foreign `Host` names (DNS rebinding) and declared
/// bodies over the limit, turns errors into small JSON answers, and adds the security headers
/// to every response.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int
    let acceptedHosts: Set<String>?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        if let acceptedHosts, let authority = request.head.authority,
            !acceptedHosts.contains(Security.hostName(authority))
        {
            response = JSONResponse.error(.misdirectedRequest, "this server does not answer for that host name")
        } else if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            response = JSONResponse.error(
                .contentTooLarge, "request body over the limit of \(maxBodyBytes) bytes")
            response.headers[.connection] = "close"
        } else {
            // Ranges are not served: the page's files are a few kilobytes, and the file
            // middleware answers some ranges wrongly (a suffix range from the start of the file,
            // a range past the end with a negative Content-Length). Without the header every
            // request gets the whole file, which HTTP allows (RFC 9110, 14.2).
            var request = request
            if request.headers[.range] != nil {
                var head = request.head
                head.headerFields[.range] = nil
                head.headerFields[.ifRange] = nil
                request = Request(head: head, body: request.body)
            }
            do {
                response = try await next(request, context)
            } catch let error as HTTPError {
                response = JSONResponse.error(error.status, error.body ?? error.status.reasonPhrase)
                if error.status == .contentTooLarge { response.headers[.connection] = "close" }
            } catch let error as any HTTPResponseError {
                response = JSONResponse.error(error.status, error.status.reasonPhrase)
                if error.status == .contentTooLarge { response.headers[.connection] = "close" }
            } catch {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                response = JSONResponse.error(.internalServerError, "internal error")
            }
        }
        for (name, value) in Security.headers { response.headers[name] = value }
        // Ranges are not served (above), so none is offered.
        response.headers[.acceptRanges] = nil
        if response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = request.uri.path.hasPrefix("/api/") ? "no-store" : "no-cache"
        }
        return response
    }
}
