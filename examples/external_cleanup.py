"""Cleanup outside the cluster: a DnsRecord is published in a DNS zone, and a finalizer keeps
it until the record is withdrawn from the zone.

`ctx.finalize` adds the finalizer `example.com/dns-record` to every DnsRecord; when one is
deleted, the API server only marks it deleting until the controller has withdrawn the record
(`withdraw` may fail and is retried: the DnsRecord stays until it succeeds) and removed the
finalizer. Here the zone is an object of this module (`zone`); in a real controller it is
the DNS provider's API.

Run it against a cluster (or `controllerkit apiserver`) with the CRD installed
(`controllerkit crd examples.external_cleanup:DnsRecord | kubectl apply -f -`):

    controllerkit run examples.external_cleanup:manager
"""

from controllerkit import Context, CustomResource, KubeModel, Manager

FINALIZER = "example.com/dns-record"


class DnsZone:
    """Stands for a DNS provider's API. Each record is tagged with its owner, as external-dns
    does with TXT records, so an owner's records can be replaced or withdrawn together."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, str]] = {}
        """(address, owner) by host name."""
        self.reachable = True
        """False: every call fails, as when the provider is down."""
        self.failed_calls = 0

    def resolve(self, host: str) -> str | None:
        record = self.records.get(host)
        return record[0] if record else None

    async def publish(self, owner: str, host: str, address: str) -> None:
        """Make `host` resolve to `address`, and `owner`'s other host names to nothing.

        A host another owner holds is refused (`PermissionError`) and left as it is."""
        holder = self.records.get(host, ("", owner))[1]
        if holder != owner:
            raise PermissionError(f"{host} belongs to {holder}")
        await self.withdraw(owner)
        self.records[host] = (address, owner)

    async def withdraw(self, owner: str) -> None:
        """Remove every record of `owner`; none is fine."""
        if not self.reachable:
            self.failed_calls += 1
            raise ConnectionError("the DNS provider is unreachable")
        self.records = {host: record for host, record in self.records.items()
                        if record[1] != owner}


class DnsRecordSpec(KubeModel):
    host: str
    """The fully qualified name, such as `blog.example.com`."""
    address: str
    """The IPv4 address it resolves to."""


class DnsRecordStatus(KubeModel):
    """Nothing to report: the zone is the state."""


class DnsRecord(CustomResource[DnsRecordSpec, DnsRecordStatus], group="example.com",
                version="v1", kind="DnsRecord"):
    """An A record in the DNS zone, kept as long as the DnsRecord exists."""


zone = DnsZone()
manager = Manager.from_kubeconfig()


def owner_of(record: DnsRecord) -> str:
    return f"{record.metadata.namespace}/{record.metadata.name}"


async def withdraw(record: DnsRecord) -> None:
    await zone.withdraw(owner_of(record))


@manager.controller(DnsRecord)
async def reconcile(record: DnsRecord | None, ctx: Context) -> None:
    if record is None:
        return  # gone: its finalizer was removed after its records were withdrawn
    record = await ctx.finalize(record, FINALIZER, withdraw)
    if record is None:
        return  # being deleted, and withdrawn from the zone
    # The finalizer is in place before anything exists outside the cluster, so nothing
    # published can outlive its DnsRecord.
    await zone.publish(owner_of(record), record.spec.host, record.spec.address)
    ctx.log.info("%s resolves to %s", record.spec.host, record.spec.address)
