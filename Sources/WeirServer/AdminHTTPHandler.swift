import Logging
import NIOCore
import NIOHTTP1

/// One admin connection, behind NIOHTTP1's server pipeline (parser, encoder, pipelining
/// assistance — one request at a time, answers in order — and 400 on unparseable HTTP).
/// Collects a request's head and body (at most `AdminAPI.maxBodyBytes`, else 413), asks
/// `AdminAPI` off the event loop, and writes the answer with Content-Length; keep-alive as the
/// client asks.
///
/// Before anything is served, `AdminAuth.decide` checks the token (`admin.auth.token`: a bearer
/// header or the console's cookie; 401 or the login form otherwise) and the Origin of writes
/// (403 from another origin). TLS, when `admin.ssl.*` is set, is a handler in front of the HTTP
/// codec (`AdminServer`).
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: AdminAPI
    /// Answer only requests whose Host header names a loopback address (DNS-rebinding guard).
    private let loopbackHostOnly: Bool
    /// `admin.auth.token`; nil: no authentication (loopback-only listeners).
    private let authToken: String?
    /// Served over TLS (the login cookie is then Secure).
    private let secure: Bool
    private let connections: ConnectionRegistry
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    private var id = 0

    init(api: AdminAPI, loopbackHostOnly: Bool = false, authToken: String? = nil, secure: Bool = false,
         connections: ConnectionRegistry, logger: Logger) {
        self.api = api
        self.authToken = authToken
        self.secure = secure
        self.loopbackHostOnly = loopbackHostOnly
        self.connections = connections
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        id = connections.add(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.remove(id)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > AdminAPI.maxBodyBytes {
                tooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            requestEnded(context: context)
        }
    }

    private func requestEnded(context: ChannelHandlerContext) {
        guard let head else { return }
        self.head = nil
        guard connections.begin(id) else {
            context.close(promise: nil)
            return
        }
        // DNS rebinding: a hostile site's name re-pointed at 127.0.0.1 makes the browser treat the
        // console as that site, same-origin — reading it and posting JSON. Its Host header still
        // names that site, so a loopback-only listener answers only Host headers that are loopback.
        if loopbackHostOnly, let host = head.headers["Host"].first, !BrokerProperties.isLoopbackHostHeader(host) {
            write(.error(.forbidden, "Host '\(host)' is not a loopback address; this admin listener is loopback-only"),
                  for: head, context: context)
            return
        }
        if tooLarge {
            write(.error(.payloadTooLarge, "request body over \(AdminAPI.maxBodyBytes) bytes"), for: head, context: context)
            return
        }
        switch AdminAuth.decide(method: head.method, uri: head.uri, headers: head.headers,
                                body: Array(body.readableBytesView), token: authToken) {
        case .allow:
            break
        case .crossOrigin(let origin):
            write(.error(.forbidden, "a write from origin '\(origin)' is refused: not this listener's origin"), for: head, context: context)
            return
        case .unauthorized(let showLogin):
            var response = showLogin
                ? AdminResponse(status: .unauthorized, contentType: "text/html; charset=utf-8", body: AdminAuth.loginPage(failed: false))
                : AdminResponse.error(.unauthorized, "admin.auth.token required: send 'Authorization: Bearer <token>'")
            response.headers.append(("WWW-Authenticate", "Bearer realm=\"weir-admin\""))
            write(response, for: head, context: context)
            return
        case .login(let ok):
            if ok, let token = authToken {
                var response = AdminResponse(status: .seeOther, contentType: "text/plain", body: Array("signed in\n".utf8))
                response.headers = [("Location", "/"), ("Set-Cookie", AdminAuth.setCookie(token, secure: secure))]
                write(response, for: head, context: context)
            } else {
                logger.warning("admin login with a wrong token", metadata: ["peer": "\(context.remoteAddress?.description ?? "-")"])
                write(AdminResponse(status: .unauthorized, contentType: "text/html; charset=utf-8", body: AdminAuth.loginPage(failed: true)),
                      for: head, context: context)
            }
            return
        }
        let (api, body, contentType) = (self.api, self.body, head.headers["Content-Type"].first)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let response = await api.respond(method: head.method, uri: head.uri, body: body, contentType: contentType)
            eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.write(response, for: head, context: context)
            }
        }
    }

    private func write(_ response: AdminResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        if response.status.code >= 500 {
            logger.warning("admin request failed", metadata: [
                "request": "\(request.method.rawValue) \(request.uri)", "status": "\(response.status.code)",
            ])
        }
        let open = connections.end(id)  // false: the listener is shutting down
        let keepAlive = request.isKeepAlive && open
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status,
                                                               headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                      promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
