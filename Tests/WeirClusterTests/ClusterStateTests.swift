import Foundation
import Testing
@testable import WeirCluster
import WeirBroker

@Suite struct ClusterStateTests {
    let keys = ClusterKeys(root: "weir-prod/")

    @Test func keysAreReadBackAsWhatTheyName() {
        #expect(keys.root == "/weir-prod")
        #expect(keys.kind(of: "/weir-prod/brokers/3") == .broker(3))
        #expect(keys.kind(of: "/weir-prod/partitions/a.b-c/12") == .partition("a.b-c", 12))
        #expect(keys.kind(of: "/weir-prod/topics/orders") == .topic("orders"))
        #expect(keys.kind(of: "/weir-prod/controller") == .controller)
        #expect(keys.kind(of: "/weir/brokers/3") == .other)
        #expect(EtcdClient.prefixEnd("/weir/") == "/weir0")
    }

    @Test func eventsUpdateTheStateAndTheirRevisions() {
        var s = ClusterState(keys: keys)
        let spec = TopicSpec(id: String(repeating: "0f", count: 16), partitions: 1, replicationFactor: 1, configs: ["retention.ms": "1000"])
        let placement = PartitionState(leader: 2, leaderEpoch: 1, partitionEpoch: 1, replicas: [2], isr: [2])
        s.apply([
            .put(EtcdKeyValue(key: keys.topic("t"), value: ClusterJSON.encode(spec), createRevision: 5, modRevision: 5, lease: 0)),
            .put(EtcdKeyValue(key: keys.controller, value: ClusterJSON.encode(ControllerRecord(id: 2, epoch: 3)),
                              createRevision: 6, modRevision: 6, lease: 77)),
        ])
        #expect(s.placedTopic("t") == nil, "a topic is listed once every partition is placed")
        s.apply([.put(EtcdKeyValue(key: keys.partition("t", 0), value: ClusterJSON.encode(placement),
                                   createRevision: 7, modRevision: 7, lease: 0))])
        let topic = s.placedTopic("t")
        #expect(topic?.partitions == [placement.placement])
        #expect(topic?.configs == ["retention.ms": "1000"])
        #expect(KafkaUUIDText.hex(topic!.id) == spec.id)
        #expect(s.controller?.value.id == 2 && s.controllerLease == 77 && s.revision == 7)
        s.apply([.delete(key: keys.controller, revision: 8), .delete(key: keys.partition("t", 0), revision: 9)])
        #expect(s.controller == nil && s.controllerLease == 0 && s.partitions["t"] == nil && s.revision == 9)
    }
}
