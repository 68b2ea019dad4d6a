"""Your first controller: a Website runs as a Deployment and says when it is Ready.

Run it against a cluster (or `controllerkit apiserver`) with the CRD installed
(`controllerkit crd examples.website:Website | kubectl apply -f -`):

    controllerkit run examples.website:manager
"""

from controllerkit import Condition, Context, CustomResource, KubeModel, Manager, Result
from controllerkit.kinds import Deployment


class WebsiteSpec(KubeModel):
    image: str
    """The container image that serves the site."""
    replicas: int = 1


class WebsiteStatus(KubeModel):
    conditions: list[Condition] = []
    ready_replicas: int = 0


class Website(CustomResource[WebsiteSpec, WebsiteStatus], group="example.com", version="v1",
              kind="Website"):
    """A website, served by a Deployment of its image."""


manager = Manager.from_kubeconfig()


async def unregister(site: Website) -> None:
    """Clean up outside the cluster before the Website goes (a DNS record, say)."""


@manager.controller(Website, owns=[Deployment])
async def reconcile(site: Website | None, ctx: Context) -> Result | None:
    if site is None:
        return None  # deleted: its Deployment is garbage-collected with it
    site = await ctx.finalize(site, "example.com/dns", unregister)
    if site is None:
        return None  # being deleted, and unregistered
    labels = {"app.kubernetes.io/name": site.metadata.name or ""}
    deployment = await ctx.client.apply(Deployment.model_validate({
        "metadata": {"name": site.metadata.name, "namespace": site.metadata.namespace},
        "spec": {"replicas": site.spec.replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "web", "image": site.spec.image}]}}},
    }), owner=site)
    ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
    site.status = site.status or WebsiteStatus()
    site.status.ready_replicas = ready
    available = ready >= site.spec.replicas
    reason, message = ("Available" if available else "Progressing"), f"{ready} ready"
    if ctx.set_condition(site, "Ready", available, reason=reason, message=message):
        ctx.events.normal(site, reason, message)
    await ctx.client.write_status(site)
    return None
