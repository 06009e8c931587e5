import NIOCore

/// Told about every request the dispatcher answers: which API, how long the broker took to produce
/// the answer, and how many bytes went each way. The admin listener's metrics implement it
/// (`RequestMetrics` in WeirServer); without an admin listener the dispatcher keeps
/// `NoRequestObserver`, so the request path pays nothing.
///
/// Implementer's notes: `requestCompleted` runs on an event loop for requests answered inline and
/// on an I/O task otherwise, once per request, concurrently from every connection. It must not
/// block, lock for long or allocate per call: look the API up in a table built up front.
public protocol RequestObserver: Sendable {
    /// - Parameters:
    ///   - apiKey: the request header's API key (only registered APIs reach here).
    ///   - durationNanos: from the frame's arrival at the dispatcher to its response being ready.
    ///   - requestBytes: the request frame on the wire, its 4-byte size prefix included.
    ///   - responseBytes: the response frame on the wire, its size prefix included; 0 when no
    ///     response is sent (Produce with acks=0).
    func requestCompleted(apiKey: Int16, durationNanos: Int64, requestBytes: Int, responseBytes: Int)

    /// `dispatch`, made to report its completion (see the default implementation).
    func observing(_ dispatch: Dispatch, apiKey: Int16, requestBytes: Int, startedNanos: UInt64) -> Dispatch
}

/// Observes nothing.
public struct NoRequestObserver: RequestObserver {
    public init() {}

    @inlinable
    public func requestCompleted(apiKey: Int16, durationNanos: Int64, requestBytes: Int, responseBytes: Int) {}

    /// `dispatch` unchanged: no wrapping closure for off-loop work.
    @inlinable
    public func observing(_ dispatch: Dispatch, apiKey: Int16, requestBytes: Int, startedNanos: UInt64) -> Dispatch {
        dispatch
    }
}

extension RequestObserver {
    /// `dispatch`, reporting its completion to this observer: at once when it was answered
    /// inline, when its work finishes when it runs off the loop. A request whose work throws is
    /// not reported (the connection closes).
    ///
    /// - Parameters:
    ///   - startedNanos: `NIODeadline.now().uptimeNanoseconds` when the frame reached the dispatcher.
    ///   - requestBytes: the frame's readable bytes plus its 4-byte size prefix.
    public func observing(_ dispatch: Dispatch, apiKey: Int16, requestBytes: Int, startedNanos: UInt64) -> Dispatch {
        switch dispatch {
        case .done(let response):
            requestCompleted(apiKey: apiKey, durationNanos: Self.elapsed(since: startedNanos),
                             requestBytes: requestBytes, responseBytes: response?.byteCount ?? 0)
            return dispatch
        case .later(let work):
            return .later {
                let response = try await work()
                self.requestCompleted(apiKey: apiKey, durationNanos: Self.elapsed(since: startedNanos),
                                      requestBytes: requestBytes, responseBytes: response?.byteCount ?? 0)
                return response
            }
        }
    }

    static func elapsed(since startedNanos: UInt64) -> Int64 {
        let now = NIODeadline.now().uptimeNanoseconds
        return now > startedNanos ? Int64(now - startedNanos) : 0
    }
}

extension ResponseBytes {
    /// Bytes this response puts on the wire (its size prefix included).
    public var byteCount: Int {
        switch self {
        case .single(let buffer): return buffer.readableBytes
        case .parts(let buffers): return buffers.reduce(0) { $0 + $1.readableBytes }
        }
    }
}
