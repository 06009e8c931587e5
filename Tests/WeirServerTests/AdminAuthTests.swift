import NIOHTTP1
import Testing
@testable import WeirServer

/// `admin.auth.token` and the Origin check, decided without sockets.
@Suite struct AdminAuthTests {
    static let token = "0123456789abcdef-secret"

    private func decide(_ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = [], body: String = "",
                        token: String? = token) -> AdminAuth.Decision {
        AdminAuth.decide(method: method, uri: uri, headers: HTTPHeaders(headers), body: Array(body.utf8), token: token)
    }

    private func decide(_ uri: String, _ headers: [(String, String)] = [], token: String? = token) -> AdminAuth.Decision {
        decide(.GET, uri, headers, token: token)
    }

    @Test func withoutATokenEverythingIsServedButForeignWrites() {
        #expect(decide("/v1/topics", token: nil) == .allow)
        #expect(decide(.POST, "/v1/snapshots", [("Host", "127.0.0.1:9644")], token: nil) == .allow)
        #expect(decide(.POST, "/v1/snapshots", [("Host", "127.0.0.1:9644"), ("Origin", "http://127.0.0.1:9644")], token: nil) == .allow)
        #expect(decide(.POST, "/v1/snapshots", [("Host", "127.0.0.1:9644"), ("Origin", "https://evil.example")], token: nil)
                == .crossOrigin("https://evil.example"))
        #expect(decide(.DELETE, "/v1/topics/t", [("Host", "127.0.0.1:9644"), ("Origin", "http://127.0.0.1:9645")], token: nil)
                == .crossOrigin("http://127.0.0.1:9645"))
    }

    @Test func aTokenIsNeededEverywhereButHealthAndTheLoginForm() {
        #expect(decide("/health") == .allow)
        #expect(decide("/metrics") == .unauthorized(showLogin: false))
        #expect(decide("/v1/topics?x=1") == .unauthorized(showLogin: false))
        #expect(decide("/") == .unauthorized(showLogin: true))
        #expect(decide("/v1/topics", [("Authorization", "Bearer \(Self.token)")]) == .allow)
        #expect(decide("/v1/topics", [("Authorization", "bearer \(Self.token)")]) == .allow)
        #expect(decide("/v1/topics", [("Authorization", "Bearer \(Self.token)x")]) == .unauthorized(showLogin: false))
        #expect(decide("/v1/topics", [("Authorization", "Basic \(Self.token)")]) == .unauthorized(showLogin: false))
        #expect(decide("/", [("Cookie", "a=b; weir_admin=\(Self.token)")]) == .allow)
        #expect(decide("/", [("Cookie", "weir_admin=wrong")]) == .unauthorized(showLogin: true))
    }

    @Test func theLoginFormChecksTheTokenAndSetsAStrictCookie() {
        #expect(decide(.POST, "/login", body: "token=\(Self.token)") == .login(ok: true))
        #expect(decide(.POST, "/login", body: "token=nope") == .login(ok: false))
        #expect(decide(.POST, "/login", body: "") == .login(ok: false))
        #expect(AdminAuth.loginToken(Array("a=1&token=x%2By+z".utf8)) == "x+y z")
        #expect(AdminAuth.setCookie("t", secure: true) == "weir_admin=t; Path=/; HttpOnly; SameSite=Strict; Secure")
        #expect(AdminAuth.setCookie("t", secure: false) == "weir_admin=t; Path=/; HttpOnly; SameSite=Strict")
    }

    @Test func originsCompareSchemeDefaultsAndIPv6() {
        #expect(AdminAuth.sameOrigin("https://admin.example", host: "admin.example:443"))
        #expect(AdminAuth.sameOrigin("http://admin.example:80", host: "admin.example"))
        #expect(AdminAuth.sameOrigin("http://[::1]:9644", host: "[::1]:9644"))
        #expect(!AdminAuth.sameOrigin("http://admin.example:8080", host: "admin.example"))
        #expect(!AdminAuth.sameOrigin("null", host: "127.0.0.1:9644"))
        #expect(AdminAuth.equal("abc", "abc") && !AdminAuth.equal("abc", "abd") && !AdminAuth.equal("abc", "abcd"))
    }
}
