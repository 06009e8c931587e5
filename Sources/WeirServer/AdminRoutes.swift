import NIOHTTP1

/// Which endpoint a request names: a pure function of method and path, so the table is tested
/// without sockets. The query string is ignored; a trailing slash is not (404).
enum AdminRoute: Equatable {
    case health
    case metrics
    case listSnapshots
    case createSnapshot
    case notFound
    /// The path exists but not with this method; `allow` is the Allow header's value.
    case methodNotAllowed(allow: String)

    private static let table: [String: [(HTTPMethod, AdminRoute)]] = [
        "/health": [(.GET, .health)],
        "/metrics": [(.GET, .metrics)],
        "/v1/snapshots": [(.GET, .listSnapshots), (.POST, .createSnapshot)],
    ]

    static func match(method: HTTPMethod, uri: String) -> AdminRoute {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard let routes = table[path] else { return .notFound }
        if let route = routes.first(where: { $0.0 == method })?.1 { return route }
        return .methodNotAllowed(allow: routes.map { $0.0.rawValue }.joined(separator: ", "))
    }
}

/// An answer: status, content type, body and any extra headers (Allow). The HTTP handler adds
/// Content-Length and Connection.
struct AdminResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    var headers: [(String, String)] = []

    static func json(_ status: HTTPResponseStatus, _ value: some Encodable) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: AdminJSON.encode(value))
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        json(status, AdminJSON.ErrorBody(error: message))
    }
}
