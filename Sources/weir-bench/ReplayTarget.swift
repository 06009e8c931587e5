import ArgumentParser
import WeirClient

/// Options of the broker-alone replayers: where the broker is and which topic.
struct ReplayTarget: ParsableArguments {
    @Option(help: "Broker address host:port.")
    var bootstrap: String = "127.0.0.1:9092"

    @Option(help: "Topic.")
    var topic: String = "bench"

    @Option(help: "Partitions of the topic.")
    var partitions: Int32 = 6

    @Option(help: "The broker's process id: its CPU seconds and RSS over the measured window are reported.")
    var brokerPid: Int32?

    /// Creates the topic (CreateTopics through WeirClient), replacing nothing: it must be new.
    func createTopic() async throws {
        let client = try KafkaClient(servers: bootstrap, clientId: "weir-bench")
        do {
            try await client.start()
            try await Admin(client: client).createTopic(topic, partitions: partitions, replicationFactor: 1)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}
