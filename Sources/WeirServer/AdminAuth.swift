import Foundation
import NIOHTTP1

/// The admin listener's authentication (`admin.auth.token`) and cross-site defences, as pure
/// functions of a request's method, path and headers: `AdminHTTPHandler` asks `decide` before
/// serving anything.
///
/// - Scripts send the token as `Authorization: Bearer <token>`.
/// - The console's browser gets a login form (`GET /` without a session shows it; `POST /login`
///   checks the token and sets the cookie `weir_admin=<token>`, HttpOnly, SameSite=Strict,
///   Secure over HTTPS), so the page's own requests carry it.
/// - `/health` stays open (probes; it reveals no data), and so does the login form itself.
/// - Every request that changes something (POST, PUT, DELETE) must, when it has an Origin
///   header, come from the listener's own origin: a page elsewhere cannot post with the cookie.
/// Tokens are compared in constant time.
enum AdminAuth {
    static let cookieName = "weir_admin"

    enum Decision: Equatable {
        /// Serve it.
        case allow
        /// 401 for scripts; the login form for a browser asking for the console page.
        case unauthorized(showLogin: Bool)
        /// 403: a write from another origin.
        case crossOrigin(String)
        /// The login form was posted: the token was right (set the cookie) or wrong.
        case login(ok: Bool)
    }

    static func decide(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8], token: String?) -> Decision {
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        let writes = method == .POST || method == .PUT || method == .DELETE || method == .PATCH
        if writes, let origin = headers["Origin"].first, let host = headers["Host"].first, !sameOrigin(origin, host: host) {
            return .crossOrigin(origin)
        }
        guard let token else { return .allow }
        if path == "/health" { return .allow }
        if path == "/login" && method == .POST {
            return .login(ok: equal(loginToken(body) ?? "", token))
        }
        if let presented = bearer(headers) ?? cookie(headers), equal(presented, token) { return .allow }
        return .unauthorized(showLogin: method == .GET && (path == "/" || path == "/login"))
    }

    /// `Authorization: Bearer <token>`.
    static func bearer(_ headers: HTTPHeaders) -> String? {
        guard let value = headers["Authorization"].first, value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// The `weir_admin` cookie.
    static func cookie(_ headers: HTTPHeaders) -> String? {
        for line in headers["Cookie"] {
            for part in line.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookieName + "=") { return String(pair.dropFirst(cookieName.count + 1)) }
            }
        }
        return nil
    }

    /// The token of a posted login form (`token=…`, URL-encoded).
    static func loginToken(_ body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        for pair in text.split(separator: "&") where pair.hasPrefix("token=") {
            let raw = String(pair.dropFirst("token=".count)).replacingOccurrences(of: "+", with: " ")
            return raw.removingPercentEncoding
        }
        return nil
    }

    /// Whether `origin` (`scheme://host[:port]`) names the host (and port) of the Host header.
    static func sameOrigin(_ origin: String, host: String) -> Bool {
        guard let url = URL(string: origin), let originHost = url.host else { return false }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        let bare = originAuthority.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
        let hostBare = host.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
        if bare.lowercased() == hostBare.lowercased() { return true }
        // A default port may be left out of either.
        let defaultPort = url.scheme == "https" ? ":443" : ":80"
        return bare.lowercased() + defaultPort == hostBare.lowercased() || bare.lowercased() == hostBare.lowercased() + defaultPort
    }

    /// Constant-time comparison (no early exit on the first differing byte).
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }

    static func setCookie(_ token: String, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The console's login form.
    static func loginPage(failed: Bool) -> [UInt8] {
        Array("""
        <!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
        <title>Weir — sign in</title><style>body{font:15px system-ui,sans-serif;display:grid;place-items:center;
        min-height:90vh;margin:0}form{display:grid;gap:.6em;min-width:18em}input,button{font:inherit;padding:.5em}
        .e{color:#b00}</style></head><body><form method="post" action="/login"><h1>Weir admin</h1>
        \(failed ? "<p class=\"e\" id=\"login-error\">That token is not right.</p>" : "")
        <label>Token (admin.auth.token)<br><input type="password" name="token" id="token" autofocus></label>
        <button type="submit" id="sign-in">Sign in</button></form></body></html>
        """.utf8)
    }
}
