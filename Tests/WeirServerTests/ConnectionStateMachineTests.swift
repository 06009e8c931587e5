import NIOCore
import Testing
@testable import WeirServer

/// The connection's request sequencing, driven event by event: no channel, no sockets.
@Suite struct ConnectionStateMachineTests {
    private static func frame(_ id: UInt8) -> ByteBuffer { ByteBuffer(bytes: [id]) }

    @Test func servesFramesInArrivalOrderOneAtATime() {
        var m = ConnectionStateMachine()
        #expect(m.frameReceived(Self.frame(1)) == .serve(Self.frame(1)))
        m.wentOffLoop()
        // Frames arriving while one is in flight wait, in order.
        #expect(m.frameReceived(Self.frame(2)) == .wait)
        #expect(m.frameReceived(Self.frame(3)) == .wait)
        #expect(m.pending.count == 2)
        #expect(m.answeredOffLoop() == .serve(Self.frame(2)))
        // Frame 2 answered inline: frame 3 is next.
        #expect(m.answeredInline() == .serve(Self.frame(3)))
        #expect(m.answeredInline() == .wait)
        #expect(m.pending.isEmpty)
    }

    @Test func holdsReadsWhenTooManyWaitAndResumesAtHalf() {
        var m = ConnectionStateMachine(maxPending: 4)
        #expect(m.frameReceived(Self.frame(0)) == .serve(Self.frame(0)))
        m.wentOffLoop()
        for i in 1...4 { #expect(m.frameReceived(Self.frame(UInt8(i))) == .wait) }
        #expect(m.readRequested() == false)
        #expect(m.readHeld)
        // The off-loop request answers; frames 1..3 are served inline, and the held read is
        // re-issued once fewer than maxPending / 2 wait.
        #expect(m.answeredOffLoop() == .serve(Self.frame(1)))
        #expect(m.answeredInline() == .serve(Self.frame(2)))
        #expect(m.answeredInline() == .serve(Self.frame(3)))
        #expect(m.answeredInline() == .serve(Self.frame(4)))
        #expect(m.answeredInline() == .resumeReading)
        #expect(m.answeredInline() == .wait)
        #expect(m.readRequested() == true)
    }

    @Test func aClientThatDoesNotReadItsAnswersGetsNoMoreServed() {
        var m = ConnectionStateMachine()
        #expect(m.writabilityChanged(isWritable: false) == .wait)
        #expect(m.frameReceived(Self.frame(1)) == .wait)
        #expect(m.readRequested() == false)
        #expect(m.writabilityChanged(isWritable: true) == .serve(Self.frame(1)))
        #expect(m.answeredInline() == .resumeReading)
        #expect(m.readRequested() == true)
    }

    @Test func nothingIsServedAfterClose() {
        var m = ConnectionStateMachine()
        #expect(m.frameReceived(Self.frame(1)) == .serve(Self.frame(1)))
        m.wentOffLoop()
        #expect(m.frameReceived(Self.frame(2)) == .wait)
        m.channelClosed()
        #expect(m.pending.isEmpty)
        #expect(m.answeredOffLoop() == .wait)
        #expect(m.frameReceived(Self.frame(3)) == .wait)
        #expect(m.readRequested() == false)
    }
}
