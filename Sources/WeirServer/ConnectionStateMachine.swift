import NIOCore

/// The request sequencing of one connection, as a pure state machine: no channel, no I/O.
/// `KafkaConnectionHandler` feeds it events and performs the `Action`s it returns.
///
/// Kafka's rules, which it keeps:
/// - **Order.** Requests are answered one at a time, in the order they arrived (Kafka mutes a
///   connection while a request is in flight; clients pipeline and match answers by order).
/// - **In-flight limit.** At most one request is being served; frames that arrive meanwhile
///   wait in `pending`. When `maxPending` wait, reading the socket stops (TCP back-pressure on
///   a client that pipelines faster than the broker answers) and resumes when half have drained.
/// - **A slow reader.** While the channel is not writable (the client does not read its answers
///   and NIO's outbound buffer passed its high-water mark), no new request is started and no more
///   are read, so a client that never reads cannot make the broker buffer without bound.
/// - **Close.** After the channel closes nothing is served; the request in flight is cancelled
///   (a parked Fetch long-poll wakes and ends).
struct ConnectionStateMachine {
    enum Action: Equatable {
        /// Dispatch this frame now.
        case serve(ByteBuffer)
        /// Ask the channel for more bytes (a read was held back before).
        case resumeReading
        /// Nothing to do until the next event.
        case wait
    }

    let maxPending: Int
    private(set) var pending = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    /// A request is being served off the event loop.
    private(set) var inFlight = false
    private(set) var writable = true
    /// A `read()` was held back and must be re-issued once there is room.
    private(set) var readHeld = false
    private(set) var closed = false

    init(maxPending: Int = 64) {
        precondition(maxPending >= 2, "maxPending \(maxPending)")
        self.maxPending = maxPending
    }

    /// A complete request frame arrived.
    mutating func frameReceived(_ frame: ByteBuffer) -> Action {
        guard !closed else { return .wait }
        pending.append(frame)
        return next()
    }

    /// The request last served was answered on the event loop (or needs no answer).
    mutating func answeredInline() -> Action {
        next()
    }

    /// The request last served went off the event loop; nothing else starts until it answers.
    mutating func wentOffLoop() {
        inFlight = true
    }

    /// The off-loop request answered.
    mutating func answeredOffLoop() -> Action {
        inFlight = false
        return next()
    }

    /// The channel asks to read more. True: let the read through; false: it is held back.
    mutating func readRequested() -> Bool {
        if closed || pending.count >= maxPending || !writable {
            readHeld = true
            return false
        }
        return true
    }

    /// The channel's outbound buffer crossed a water mark.
    mutating func writabilityChanged(isWritable: Bool) -> Action {
        writable = isWritable
        return next()
    }

    /// The channel closed: drop what waits; nothing is served from now on.
    mutating func channelClosed() {
        closed = true
        pending.removeAll()
    }

    /// What to do now: serve the oldest waiting frame when nothing is in flight and the client
    /// is reading its answers; otherwise re-issue a held read once there is room again.
    private mutating func next() -> Action {
        guard !closed else { return .wait }
        if !inFlight, writable, let frame = pending.popFirst() {
            return .serve(frame)
        }
        if readHeld, writable, pending.count < maxPending / 2 {
            readHeld = false
            return .resumeReading
        }
        return .wait
    }
}
