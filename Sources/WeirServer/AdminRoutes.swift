import Foundation
import NIOHTTP1

/// Which endpoint a request names: a pure function of method and path, so the table is tested
/// without sockets. The query string is ignored here (`AdminQuery` reads it); a trailing slash is
/// not (404). Path segments are percent-decoded (a group id may hold any character).
enum AdminRoute: Equatable {
    case health
    case metrics
    case listSnapshots
    case createSnapshot
    /// The console's static files: `/` (the page), `/console.css`, `/console.js`.
    case consoleAsset(ConsoleAsset)
    case broker
    case listTopics
    case createTopic
    case topic(String)
    case deleteTopic(String)
    /// `partition` as written; the handler answers 400 when it is not a partition number.
    case records(topic: String, partition: String)
    case listGroups
    case group(String)
    case resetOffsets(group: String)
    case notFound
    /// The path exists but not with this method; `allow` is the Allow header's value.
    case methodNotAllowed(allow: String)

    private static let table: [String: [(HTTPMethod, AdminRoute)]] = [
        "/health": [(.GET, .health)],
        "/metrics": [(.GET, .metrics)],
        "/v1/snapshots": [(.GET, .listSnapshots), (.POST, .createSnapshot)],
        "/": [(.GET, .consoleAsset(.page))],
        "/console.css": [(.GET, .consoleAsset(.css))],
        "/console.js": [(.GET, .consoleAsset(.js))],
        "/v1/broker": [(.GET, .broker)],
        "/v1/topics": [(.GET, .listTopics), (.POST, .createTopic)],
        "/v1/groups": [(.GET, .listGroups)],
    ]

    static func match(method: HTTPMethod, uri: String) -> AdminRoute {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        if let routes = table[path] { return pick(routes, method) }
        // /v1/topics/{name}…, /v1/groups/{id}…: raw segments, decoded one by one.
        let raw = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard raw.count >= 3, raw[0] == "v1", raw.allSatisfy({ !$0.isEmpty }) else { return .notFound }
        let segments = raw.compactMap { $0.removingPercentEncoding }
        guard segments.count == raw.count else { return .notFound }
        switch (segments[1], segments.count) {
        case ("topics", 3):
            return pick([(.GET, .topic(segments[2])), (.DELETE, .deleteTopic(segments[2]))], method)
        case ("topics", 6) where segments[3] == "partitions" && segments[5] == "records":
            return pick([(.GET, .records(topic: segments[2], partition: segments[4]))], method)
        case ("groups", 3):
            return pick([(.GET, .group(segments[2]))], method)
        case ("groups", 4) where segments[3] == "reset-offsets":
            return pick([(.POST, .resetOffsets(group: segments[2]))], method)
        default:
            return .notFound
        }
    }

    private static func pick(_ routes: [(HTTPMethod, AdminRoute)], _ method: HTTPMethod) -> AdminRoute {
        if let route = routes.first(where: { $0.0 == method })?.1 { return route }
        return .methodNotAllowed(allow: routes.map { $0.0.rawValue }.joined(separator: ", "))
    }
}

/// The query string of a request URI: `a=1&b=x%20y` → ["a": "1", "b": "x y"] (the last of a
/// repeated name wins; `+` is a space, as browsers send forms).
enum AdminQuery {
    static func parse(_ uri: String) -> [String: String] {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return [:] }
        var result: [String: String] = [:]
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            result[decode(kv[0])] = kv.count == 2 ? decode(kv[1]) : ""
        }
        return result
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

    /// A JSON object built by hand (the console's answers, whose nulls must be written, not left
    /// out): keys sorted, slashes unescaped, as `json` writes.
    static func object(_ status: HTTPResponseStatus, _ value: [String: Any]) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: AdminJSON.encodeObject(value))
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        json(status, AdminJSON.ErrorBody(error: message))
    }
}
