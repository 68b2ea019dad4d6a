"""Kubernetes label and field selectors, as the `labelSelector` / `fieldSelector` query parameters.

The public face of the selector modules: requirements and operators live in
`selector_requirements`, the label selector syntax in `label_selectors` and the field selector
syntax in `field_selectors`. A selector is parsed once per request and then matched against many
objects; its syntax errors carry the message kube-apiserver returns for the same input.
"""

from __future__ import annotations

from controllerkit.apiserver.field_selectors import (
    DEFAULT_SELECTABLE_FIELDS,
    FieldRequirement,
    FieldSelector,
)
from controllerkit.apiserver.label_selectors import LabelSelector
from controllerkit.apiserver.selector_requirements import Operator, Requirement, SelectorError

__all__ = [
    "DEFAULT_SELECTABLE_FIELDS",
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Operator",
    "Requirement",
    "SelectorError",
]
