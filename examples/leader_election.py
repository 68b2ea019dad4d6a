"""Leader election: run several replicas; only the one holding the Lease reconciles.

Every replica starts its informers and keeps its caches warm; they campaign for the Lease
`default/leader-election-example`, and only the holder runs the controller, which stamps
each ConfigMap labelled `example.com/leader-demo=true` with the replica that reconciled it
last (annotation `example.com/reconciled-by`). When the leader stops cleanly it releases the
Lease and a standby takes over at once; when it dies, a standby takes over once the Lease
has not been renewed for `lease_duration` (15 s). See docs/high-availability.md.

Run two replicas against a cluster (or `controllerkit apiserver`), each in its own terminal:

    controllerkit run examples.leader_election:manager --metrics-bind-address 0 \\
        --health-probe-bind-address 0
    kubectl create configmap demo && kubectl label configmap demo example.com/leader-demo=true
    kubectl get lease leader-election-example -o jsonpath='{.spec.holderIdentity}'

Stop the leader (Ctrl-C): the other replica stamps `demo` with its own identity. A replica
is named `<hostname>_<uuid>` in the Lease unless started with
`--leader-elect --identity "$POD_NAME"`.
"""

from controllerkit import Context, Manager
from controllerkit.kinds import ConfigMap
from controllerkit.leaderelection import LeaderElectionConfig

LABEL = "example.com/leader-demo"
ANNOTATION = "example.com/reconciled-by"

manager = Manager.from_kubeconfig(
    leader_election=LeaderElectionConfig("leader-election-example", "default"))


def identity() -> str:
    """This replica's name in the Lease (`controllerkit run --identity` may change it)."""
    assert manager.leader_election is not None
    return manager.leader_election.identity


@manager.controller(ConfigMap)
async def reconcile(config: ConfigMap | None, ctx: Context) -> None:
    if config is None or (config.metadata.labels or {}).get(LABEL) != "true":
        return
    # Only the leader gets here: a standby's controllers have not started.
    await ctx.client.apply(ConfigMap.model_validate({"metadata": {
        "name": config.metadata.name, "namespace": config.metadata.namespace,
        "annotations": {ANNOTATION: identity()}}}))
