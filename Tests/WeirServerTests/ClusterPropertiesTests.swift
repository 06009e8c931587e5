import Foundation
import Testing
import WeirCluster
import WeirServer

/// `etcd.connect` and the settings around it: what is parsed, what needs etcd, and what a
/// cluster refuses until it can honour it.
@Suite struct ClusterPropertiesTests {
    private func refusal(_ text: String, _ overrides: [String] = []) -> String {
        do {
            _ = try BrokerProperties(text: text, overrides: overrides)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func etcdConnectTakesEndpointsAndAChrootAndTheLastOverrideWins() throws {
        let p = try BrokerProperties(text: "etcd.connect=10.0.0.1:2379,etcd-2:2379/weir-prod\nnode.id=3",
                                     overrides: ["broker.session.timeout.ms=6000", "broker.session.timeout.ms=12000"])
        #expect(p.cluster.enabled)
        #expect(p.cluster.etcd == [EtcdEndpoint(host: "10.0.0.1", port: 2379), EtcdEndpoint(host: "etcd-2", port: 2379)])
        #expect(p.cluster.root == "/weir-prod")
        #expect(p.cluster.sessionTimeoutMs == 12_000)
        #expect(try BrokerProperties(text: "").cluster.enabled == false)
        #expect(refusal("etcd.connect=nohost") == "line 1: etcd.connect: 'nohost' is not HOST:PORT")
    }

    @Test func clusterOnlySettingsNeedEtcdAndWhatACannotHonourIsRefused() {
        #expect(refusal("broker.session.timeout.ms=9000") == "broker.session.timeout.ms needs etcd.connect (it configures a cluster)")
        #expect(refusal("unclean.leader.election.enable=true") == "unclean.leader.election.enable needs etcd.connect (it configures a cluster)")
        #expect(refusal("min.insync.replicas=2") == "min.insync.replicas needs etcd.connect (it configures a cluster)")
        #expect(refusal("replica.lag.time.max.ms=10000") == "replica.lag.time.max.ms needs etcd.connect (it configures a cluster)")
        #expect(refusal("etcd.connect=127.0.0.1:2379\ndefault.replication.factor=3\nmin.insync.replicas=2") == "accepted")
        #expect(refusal("etcd.connect=127.0.0.1:2379\nauthorizer.class.name=kafka.security.authorizer.AclAuthorizer")
            .contains("ACLs are not shared"))
        #expect(refusal("min.insync.replicas=1") == "accepted")
    }
}
