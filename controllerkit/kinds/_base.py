"""The bases and value types of the generated models of built-in kinds.

Every model is open: a field it does not name (one a newer server added) is kept and written
back by `to_dict()` / `model_dump()`, so reading and writing an object never drops data.
Validators are built when a model is first used (`defer_build=True`), which keeps importing
a module of kinds cheap. Field descriptions are attribute docstrings in the source, for
readers and editors; they are not copied into JSON schemas (reading them costs import time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeAlias

from pydantic import AwareDatetime, ConfigDict, PlainSerializer

from ..meta import KubeModel
from ..resource import Resource

__all__ = ["BuiltinModel", "BuiltinResource", "IntOrString", "MicroTime", "Quantity"]

_OPEN_LAZY_MODEL = ConfigDict(extra="allow", defer_build=True, use_attribute_docstrings=False)

IntOrString: TypeAlias = int | str
"""`intstr.IntOrString`: a port number or a port name, a count or a percentage ("25%")."""

Quantity: TypeAlias = str | int | float
"""`resource.Quantity`, like "500m" or "1Gi". Numbers (`cpu: 1` in YAML) are kept as given."""


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


MicroTime = Annotated[AwareDatetime, PlainSerializer(_micro_time, return_type=str,
                                                     when_used="json")]
"""`metav1.MicroTime`: written in UTC with exactly six fractional digits, the only form the
API server parses (a whole second as `.000000Z`, not `Z`)."""


class BuiltinModel(KubeModel):
    """Base of the nested types of built-in kinds (`PodSpec`, `Container`, ...)."""

    model_config = _OPEN_LAZY_MODEL


class BuiltinResource(Resource):
    """Base of the top-level built-in kinds (`Deployment`, `ConfigMap`, ...).

    Unlike other `Resource` models, these keep fields they do not declare.
    """

    model_config = _OPEN_LAZY_MODEL
