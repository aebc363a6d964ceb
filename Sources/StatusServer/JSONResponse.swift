import Foundation
import Hummingbird

enum JSONResponse {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func response(_ status: HTTPResponse.Status = .ok, json data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func response(_ status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        do {
            return response(status, json: try encoder().encode(value))
        } catch {
            return self.error(.internalServerError, "could not encode the answer: \(error)")
        }
    }

    struct Message: Encodable {
        var ok: Bool
        var message: String?
        var error: String?
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        response(status, Message(ok: false, message: nil, error: message))
    }

    static func ok(_ status: HTTPResponse.Status = .ok, _ message: String) -> Response {
        response(status, Message(ok: true, message: message, error: nil))
    }
}
