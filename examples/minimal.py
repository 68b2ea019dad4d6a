"""The least controller: ConfigMaps labelled `example.com/count-keys=true` are annotated
with the number of keys they hold.

No CRD to install; run it against a cluster (or `controllerkit apiserver`):

    controllerkit run examples.minimal:manager
    kubectl create configmap demo --from-literal=colour=blue
    kubectl label configmap demo example.com/count-keys=true
    kubectl get configmap demo -o jsonpath='{.metadata.annotations}'
"""

from controllerkit import Context, Manager
from controllerkit.kinds import ConfigMap

LABEL = "example.com/count-keys"
ANNOTATION = "example.com/keys"

manager = Manager.from_kubeconfig()


@manager.controller(ConfigMap)
async def reconcile(config: ConfigMap | None, ctx: Context) -> None:
    if config is None or (config.metadata.labels or {}).get(LABEL) != "true":
        return  # gone, or not ours to count
    keys = len(config.data or {}) + len(config.binary_data or {})
    ctx.log.info("counted %d keys", keys)
    # Server-side apply of the one field this controller owns: nothing is sent when the
    # annotation already says so.
    await ctx.client.apply(ConfigMap.model_validate({"metadata": {
        "name": config.metadata.name, "namespace": config.metadata.namespace,
        "annotations": {ANNOTATION: str(keys)}}}))
