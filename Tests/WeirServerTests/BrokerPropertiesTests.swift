import Foundation
import Testing
import WeirServer

@Suite struct BrokerPropertiesTests {
    @Test func theShippedConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/server.properties")
        let p = try BrokerProperties(text: String(contentsOf: url, encoding: .utf8))
        #expect(p.listenHost == "127.0.0.1")
        #expect(p.listenPort == 9092)
        #expect(p.logDir == "./data")
        #expect(p.broker.nodeId == 1)
        #expect(p.broker.retentionMs == 168 * 3_600_000)
        #expect(p.broker.advertisedHost == "127.0.0.1")
        #expect(p.broker.advertisedPort == 9092)
        #expect(p.broker.groupInitialRebalanceDelayMs == 0)
    }

    @Test func overridesWinAndFinestRetentionUnitWins() throws {
        let p = try BrokerProperties(
            text: "log.retention.hours=1\nlisteners: PLAINTEXT://0.0.0.0:9000\n# comment\n",
            overrides: ["log.retention.minutes=5", "node.id=7", "advertised.listeners=PLAINTEXT://kafka.example:19000",
                        "log.flush.interval.messages=1"])
        #expect(p.broker.retentionMs == 300_000)
        #expect(p.broker.nodeId == 7)
        #expect(p.listenHost == "0.0.0.0")
        #expect(p.listenPort == 9000)
        #expect(p.broker.advertisedHost == "kafka.example")
        #expect(p.broker.advertisedPort == 19000)
        #expect(p.broker.flushIntervalMessages == 1)
    }

    @Test func downConversionCanBeTurnedOffForTheBroker() throws {
        #expect(try BrokerProperties(text: "").broker.downConversion)
        let off = try BrokerProperties(text: "log.message.downconversion.enable=false\n")
        #expect(!off.broker.downConversion)
        #expect(throws: (any Error).self) { try BrokerProperties(text: "log.message.downconversion.enable=maybe\n") }
    }

    @Test func unknownKeysAndBadValuesNameTheProblem() {
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "retention.ms=5") }
        do {
            _ = try BrokerProperties(text: "", overrides: ["num.partitions=zero"])
            Issue.record("accepted num.partitions=zero")
        } catch {
            #expect("\(error)" == "--override: num.partitions must be a 32-bit integer, not 'zero'")
        }
        do {
            _ = try BrokerProperties(text: "node.id=1\nlog.retention.hourz=3")
            Issue.record("accepted a misspelt key")
        } catch {
            #expect("\(error)".hasPrefix("unknown property 'log.retention.hourz' (line 2)"))
        }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "listeners=SSL://h:1") }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "message.max.bytes=-1") }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "just a line") }
    }
}

@Suite struct ConsolePropertiesTests {
    @Test func consoleWritableDefaultsOffAndNeedsTheAdminListener() throws {
        #expect(try BrokerProperties(text: "admin.listener=127.0.0.1:9644").adminConsoleWritable == false)
        #expect(try BrokerProperties(text: "admin.listener=127.0.0.1:9644\nadmin.console.writable=true").adminConsoleWritable)
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.console.writable=true") }
        #expect(throws: BrokerProperties.Invalid.self) {
            try BrokerProperties(text: "admin.listener=127.0.0.1:9644\nadmin.console.writable=yes")
        }
    }
}
