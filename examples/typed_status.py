"""Typed status: a Backup schedule reports several conditions, the generation they describe,
printer columns for `kubectl get`, and an Event whenever a condition changes its status.

The controller only judges the schedule (an actual backup job is left out):

- `ScheduleValid`: the schedule has the five fields of a cron expression;
- `Active`: backups are not suspended;
- `Ready`: both, so this schedule will run.

`status.observedGeneration` (and each condition's) says which `metadata.generation` of the
spec the status describes: a client that changed the spec waits until they match.

Run it against a cluster (or `controllerkit apiserver`) with the CRD installed
(`controllerkit crd examples.typed_status:Backup | kubectl apply -f -`):

    controllerkit run examples.typed_status:manager
    kubectl get backups          # NAME  SCHEDULE  READY  REASON  AGE
"""

import re

from controllerkit import Condition, Context, CustomResource, KubeModel, Manager, PrinterColumn

CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


class BackupSpec(KubeModel):
    schedule: str
    """When to back up, as a cron expression (`0 3 * * *`)."""
    suspend: bool = False
    """True pauses the backups without deleting the schedule."""


class BackupStatus(KubeModel):
    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: list[Condition] = []


class Backup(CustomResource[BackupSpec, BackupStatus], group="example.com", version="v1",
             kind="Backup", printer_columns=[
                 PrinterColumn("Schedule", ".spec.schedule"),
                 PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status'),
                 PrinterColumn("Reason", '.status.conditions[?(@.type=="Ready")].reason'),
                 PrinterColumn("Age", ".metadata.creationTimestamp", type="date")]):
    """A schedule of backups."""


manager = Manager.from_kubeconfig()


def schedule_problem(schedule: str) -> str:
    """What is wrong with a cron expression (empty when nothing is)."""
    fields = schedule.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields, not {len(fields)}"
    wrong = [field for field in fields if not CRON_FIELD.match(field)]
    return f"not a cron field: {' '.join(wrong)}" if wrong else ""


def judge(spec: BackupSpec) -> dict[str, tuple[bool, str, str]]:
    """Each condition's (holds, reason, message) for `spec`."""
    problem = schedule_problem(spec.schedule)
    ready_reason = "InvalidSchedule" if problem else "Suspended" if spec.suspend else "Scheduled"
    return {
        "ScheduleValid": (not problem, "InvalidSchedule" if problem else "Valid", problem),
        "Active": (not spec.suspend, "Suspended" if spec.suspend else "Active", ""),
        "Ready": (not problem and not spec.suspend, ready_reason, problem),
    }


@manager.controller(Backup)
async def reconcile(backup: Backup | None, ctx: Context) -> None:
    if backup is None:
        return
    backup.status = backup.status or BackupStatus()
    was = {condition.type: condition.status for condition in backup.status.conditions}
    for condition, (holds, reason, message) in judge(backup.spec).items():
        ctx.set_condition(backup, condition, holds, reason=reason, message=message)
        if was.get(condition) != str(holds):  # a transition, or the first judgement
            record = ctx.events.normal if holds else ctx.events.warning
            record(backup, reason,
                   f"{condition} is {holds}" + (f": {message}" if message else ""))
    backup.status.observed_generation = backup.metadata.generation
    await ctx.client.write_status(backup)
