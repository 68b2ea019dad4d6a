"""Owned children: an Echo runs as a Deployment behind a Service, both owned by it.

The controller applies both children with the Echo as their controller owner, so:

- a change of either child (say, deleted by hand) reconciles the Echo, which puts it back;
- deleting the Echo deletes its children (the cluster's garbage collector follows the
  owner references; nothing to clean up here).

Run it against a cluster (or `controllerkit apiserver`) with the CRD installed
(`controllerkit crd examples.owned_children:Echo | kubectl apply -f -`):

    controllerkit run examples.owned_children:manager
"""

from controllerkit import Context, CustomResource, KubeModel, Manager
from controllerkit.kinds import Deployment, Service

IMAGE = "hashicorp/http-echo:1.0"


class EchoSpec(KubeModel):
    text: str
    """What every request gets as its answer."""
    replicas: int = 1
    port: int = 80
    """The Service's port."""


class EchoStatus(KubeModel):
    """Nothing to report: the children are the whole state."""


class Echo(CustomResource[EchoSpec, EchoStatus], group="example.com", version="v1",
           kind="Echo", plural="echoes"):
    """An HTTP server that answers every request with the same text."""


manager = Manager.from_kubeconfig()


@manager.controller(Echo, owns=[Deployment, Service])
async def reconcile(echo: Echo | None, ctx: Context) -> None:
    if echo is None:
        return  # deleted: the garbage collector removes its children
    name, namespace = echo.metadata.name, echo.metadata.namespace
    labels = {"app.kubernetes.io/name": name or "", "app.kubernetes.io/managed-by": "echo"}
    await ctx.client.apply(Deployment.model_validate({
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": echo.spec.replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                     "name": "echo", "image": IMAGE,
                     "args": [f"-text={echo.spec.text}", "-listen=:5678"],
                     "ports": [{"name": "http", "containerPort": 5678}]}]}}},
    }), owner=echo)
    await ctx.client.apply(Service.model_validate({
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"selector": labels,
                 "ports": [{"name": "http", "port": echo.spec.port, "targetPort": "http"}]},
    }), owner=echo)
