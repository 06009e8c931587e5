import ServiceLifecycle
import WeirCluster

/// Runs the broker's cluster membership (lease, watch, controller duties) until graceful
/// shutdown, then leaves the cluster at once: revoking the lease tells the controller to move
/// this broker's leaderships now rather than after the session timeout.
struct ClusterService: Service {
    let member: EtcdCluster

    func run() async throws {
        let member = self.member
        await cancelWhenGracefulShutdown {
            await member.run()
        }
        await member.leave()
    }
}
