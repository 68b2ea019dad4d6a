"""Generate `controllerkit/kinds/`: pydantic models of the built-in kinds controllers create.

    python scripts/generate_kinds.py           # write the modules
    python scripts/generate_kinds.py --check   # exit 1 if a module differs from what it would write

The fields, their JSON names, types, descriptions and whether they are required come from the
type metadata kubernetes_asyncio's generated model classes carry (`openapi_types`,
`attribute_map`, the property docstrings, and the `None` check in the setter of a required
field), read without the network. What those classes do not say comes from the tables below:
the REST names and scope of each kind, which untyped fields are IntOrString, which strings are
`resource.Quantity`, which times are MicroTime, and which types belong to meta/v1.

Where each nested type goes: a meta/v1 type to `meta_v1`; a type only the kinds of one
group-version reach to that group-version's module; a type kinds of several group-versions
share (PodTemplateSpec, ObjectReference) to `core_v1`, where Kubernetes defines them. Every
module lists its classes with the types they use first, so no annotation is a forward
reference. The output depends only on the installed kubernetes_asyncio.
"""

from __future__ import annotations

import argparse
import inspect
import keyword
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_asyncio
from kubernetes_asyncio.client import models as openapi_models
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "controllerkit" / "kinds"
COMMAND = "python scripts/generate_kinds.py"
LINE_LENGTH = 100


@dataclass(frozen=True)
class KindSpec:
    """One top-level kind: its kubernetes_asyncio class and what the REST API calls it."""

    source: str
    module: str
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    summary: str


# Plurals and scope as the real API server's discovery documents them.
KINDS = (
    KindSpec("V1Pod", "core_v1", "", "v1", "Pod", "pods", True,
             "A Pod: containers scheduled together onto one node."),
    KindSpec("V1Service", "core_v1", "", "v1", "Service", "services", True,
             "A Service: one stable address for the pods its selector picks."),
    KindSpec("V1ConfigMap", "core_v1", "", "v1", "ConfigMap", "configmaps", True,
             "A ConfigMap: string data (`data`) and base64 binary data (`binaryData`)."),
    KindSpec("V1Secret", "core_v1", "", "v1", "Secret", "secrets", True,
             "A Secret: base64 data (`data`), or plain strings for the server to encode "
             "(`stringData`)."),
    KindSpec("V1ServiceAccount", "core_v1", "", "v1", "ServiceAccount", "serviceaccounts", True,
             "A ServiceAccount: the identity of the processes that run in pods."),
    KindSpec("V1PersistentVolumeClaim", "core_v1", "", "v1", "PersistentVolumeClaim",
             "persistentvolumeclaims", True, "A PersistentVolumeClaim: a request for storage."),
    KindSpec("V1Namespace", "core_v1", "", "v1", "Namespace", "namespaces", False,
             "A Namespace: the scope of the names of namespaced objects."),
    KindSpec("CoreV1Event", "core_v1", "", "v1", "Event", "events", True,
             "An Event (core/v1): a report of something that happened to an object."),
    KindSpec("V1Deployment", "apps_v1", "apps", "v1", "Deployment", "deployments", True,
             "A Deployment: replicated pods, rolled out to a new template through ReplicaSets."),
    KindSpec("V1StatefulSet", "apps_v1", "apps", "v1", "StatefulSet", "statefulsets", True,
             "A StatefulSet: replicated pods with stable names and their own volumes."),
    KindSpec("V1DaemonSet", "apps_v1", "apps", "v1", "DaemonSet", "daemonsets", True,
             "A DaemonSet: one pod on every node its template selects."),
    KindSpec("V1ReplicaSet", "apps_v1", "apps", "v1", "ReplicaSet", "replicasets", True,
             "A ReplicaSet: a number of identical pods kept running."),
    KindSpec("V1Job", "batch_v1", "batch", "v1", "Job", "jobs", True,
             "A Job: pods run until a number of them complete."),
    KindSpec("V1CronJob", "batch_v1", "batch", "v1", "CronJob", "cronjobs", True,
             "A CronJob: a Job created on a schedule."),
    KindSpec("V1Role", "rbac_v1", "rbac.authorization.k8s.io", "v1", "Role", "roles", True,
             "A Role: permissions within one namespace."),
    KindSpec("V1RoleBinding", "rbac_v1", "rbac.authorization.k8s.io", "v1", "RoleBinding",
             "rolebindings", True,
             "A RoleBinding: a Role or ClusterRole granted to subjects within one namespace."),
    KindSpec("V1ClusterRole", "rbac_v1", "rbac.authorization.k8s.io", "v1", "ClusterRole",
             "clusterroles", False,
             "A ClusterRole: permissions in every namespace, on cluster-scoped resources, or "
             "on non-resource URLs."),
    KindSpec("V1ClusterRoleBinding", "rbac_v1", "rbac.authorization.k8s.io", "v1",
             "ClusterRoleBinding", "clusterrolebindings", False,
             "A ClusterRoleBinding: a ClusterRole granted to subjects across the cluster."),
    KindSpec("V1Ingress", "networking_v1", "networking.k8s.io", "v1", "Ingress", "ingresses",
             True, "An Ingress: HTTP routes from outside the cluster to Services."),
    KindSpec("V1Lease", "coordination_v1", "coordination.k8s.io", "v1", "Lease", "leases", True,
             "A Lease: a holder and a duration, for leader election and heartbeats."),
)

MODULES = {
    "meta_v1": "meta/v1 types that objects of several groups use (label selectors, conditions)",
    "core_v1": "the core/v1 kinds (`apiVersion: v1`), and the types kinds of several groups "
               "share (PodTemplateSpec, ObjectReference, ...)",
    "apps_v1": "the apps/v1 kinds",
    "batch_v1": "the batch/v1 kinds",
    "rbac_v1": "the rbac.authorization.k8s.io/v1 kinds",
    "networking_v1": "the networking.k8s.io/v1 kinds",
    "coordination_v1": "the coordination.k8s.io/v1 kinds",
}

META_V1_TYPES = frozenset({"V1LabelSelector", "V1LabelSelectorRequirement", "V1Condition"})
"""apimachinery's meta/v1 types; kubernetes_asyncio names them like any other V1 type."""

EXISTING_TYPES = {"V1ObjectMeta": ("..meta", "ObjectMeta")}
"""Types controllerkit already models: (module, name) to import instead of generating."""

INT_OR_STRING_FIELDS = frozenset({
    ("V1HTTPGetAction", "port"),
    ("V1TCPSocketAction", "port"),
    ("V1RollingUpdateDaemonSet", "max_surge"),
    ("V1RollingUpdateDaemonSet", "max_unavailable"),
    ("V1RollingUpdateDeployment", "max_surge"),
    ("V1RollingUpdateDeployment", "max_unavailable"),
    ("V1RollingUpdateStatefulSetStrategy", "max_unavailable"),
    ("V1ServicePort", "target_port"),
})
"""`intstr.IntOrString` fields; kubernetes_asyncio types them 'object' (other such fields are
free JSON, `Any`)."""

QUANTITY_FIELDS = frozenset({
    ("V1ContainerStatus", "allocated_resources"),
    ("V1EmptyDirVolumeSource", "size_limit"),
    ("V1NodeAllocatableResourceClaimStatus", "resources"),
    ("V1PersistentVolumeClaimStatus", "allocated_resources"),
    ("V1PersistentVolumeClaimStatus", "capacity"),
    ("V1PodSpec", "overhead"),
    ("V1ResourceFieldSelector", "divisor"),
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"),
    ("V1VolumeResourceRequirements", "requests"),
})
"""`resource.Quantity` fields (or maps of them); kubernetes_asyncio types them 'str'."""

MICRO_TIME_FIELDS = frozenset({
    ("CoreV1Event", "event_time"),
    ("CoreV1EventSeries", "last_observed_time"),
    ("V1LeaseSpec", "acquire_time"),
    ("V1LeaseSpec", "renew_time"),
})
"""`metav1.MicroTime` fields: the server parses them only with six fractional digits."""

RESOURCE_FIELDS = frozenset({"api_version", "kind", "metadata"})
"""Fields every top-level kind inherits from `controllerkit.resource.Resource`."""

# Characters of kubernetes_asyncio's descriptions that linters flag as ambiguous.
_PLAIN_TEXT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u00a0": " "})

_PRIMITIVES = {"str": "str", "int": "int", "float": "float", "bool": "bool",
               "datetime": "AwareDatetime", "object": "Any"}


@dataclass
class FieldSpec:
    python_name: str
    json_name: str
    annotation: str
    required: bool
    description: str


@dataclass
class ModelSpec:
    source: str
    name: str
    module: str
    kind: KindSpec | None
    fields: list[FieldSpec] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)
    """Names the module must import or define for this model's annotations."""
    used_by: list[str] = field(default_factory=list)
    """The fields of other models (`PodSpec.containers`) whose type this is."""


def openapi_class(name: str) -> Any:
    cls = getattr(openapi_models, name, None)
    if cls is None or not hasattr(cls, "openapi_types"):
        raise SystemExit(f"kubernetes_asyncio has no model {name}")
    return cls


def model_name(source: str) -> str:
    """`V1PodSpec` -> `PodSpec`, `CoreV1Event` -> `Event`, `RbacV1Subject` -> `Subject`."""
    name = re.sub(r"^[A-Za-z]*?V1(?=[A-Z])", "", source)
    if name == source:
        raise SystemExit(f"{source}: not a v1 model name")
    return name


def referenced_types(type_string: str) -> list[str]:
    """The model class names a type string mentions ('list[V1Container]' -> ['V1Container'])."""
    return [name for name in re.findall(r"[A-Za-z_]\w*", type_string)
            if name not in _PRIMITIVES and name not in ("list", "dict")]


def annotation(type_string: str, scalar: str | None) -> tuple[str, set[str]]:
    """A kubernetes_asyncio type string as a Python annotation, and the names it uses.

    `scalar` replaces the innermost primitive (IntOrString, Quantity, MicroTime).
    """
    if type_string.startswith("list[") and type_string.endswith("]"):
        inner, uses = annotation(type_string[5:-1], scalar)
        return f"list[{inner}]", uses
    if type_string.startswith("dict(") and type_string.endswith(")"):
        key, value = type_string[5:-1].split(", ", 1)
        if key != "str":
            raise SystemExit(f"unexpected map key type in {type_string!r}")
        inner, uses = annotation(value, scalar)
        return f"dict[str, {inner}]", uses
    if type_string in _PRIMITIVES:
        name = scalar or _PRIMITIVES[type_string]
        return name, {name}
    if type_string in EXISTING_TYPES:
        name = EXISTING_TYPES[type_string][1]
        return name, {name}
    if re.fullmatch(r"[A-Za-z]\w*", type_string):
        name = model_name(type_string)
        return name, {name}
    raise SystemExit(f"unexpected type string {type_string!r}")


def scalar_override(source: str, attr: str, type_string: str) -> str | None:
    key = (source, attr)
    expected = {"IntOrString": (INT_OR_STRING_FIELDS, "object"),
                "Quantity": (QUANTITY_FIELDS, "str"),
                "MicroTime": (MICRO_TIME_FIELDS, "datetime")}
    for name, (table, primitive) in expected.items():
        if key in table:
            if primitive not in re.findall(r"\w+", type_string):
                raise SystemExit(f"{source}.{attr} is {type_string!r}, not a {primitive}: "
                                 f"update the {name} table")
            return name
    return None


def python_name(attr: str) -> str:
    """kubernetes_asyncio's attribute name as a pydantic field name (`_exec` -> `exec`)."""
    name = attr.lstrip("_")
    if keyword.iskeyword(name) or hasattr(BaseModel, name):
        name += "_"
    if name.startswith("model_"):
        raise SystemExit(f"field {attr!r} would be in pydantic's protected namespace")
    return name


def is_required(cls: Any, attr: str) -> bool:
    """Whether kubernetes_asyncio refuses None for the attribute (client-side validation)."""
    setter = getattr(cls, attr).fset
    return "must not be `None`" in inspect.getsource(setter)


def description(cls: Any, attr: str) -> str:
    """The field's description: the getter docstring between its summary and `:return:`."""
    doc = getattr(cls, attr).fget.__doc__ or ""
    doc = doc.replace("  # noqa: E501", "")
    body = doc.split("\n\n", 1)[1] if "\n\n" in doc else ""
    body = body.split(":return:", 1)[0]
    lines = (line.strip() for line in body.strip().splitlines())
    return "\n".join(lines).translate(_PLAIN_TEXT)


def collect() -> dict[str, ModelSpec]:
    """Every model the kinds reach, by kubernetes_asyncio name, in dependency order."""
    reached_from: dict[str, set[str]] = {}

    def reach(source: str, module: str) -> None:
        if source in EXISTING_TYPES:
            return
        modules = reached_from.setdefault(source, set())
        if module in modules:
            return
        modules.add(module)
        for type_string in openapi_class(source).openapi_types.values():
            for name in referenced_types(type_string):
                reach(name, module)

    for spec in KINDS:
        reach(spec.source, spec.module)
    kinds = {spec.source: spec for spec in KINDS}

    def home(source: str) -> str:
        if source in kinds:
            return kinds[source].module
        if source in META_V1_TYPES:
            return "meta_v1"
        modules = reached_from[source]
        return next(iter(modules)) if len(modules) == 1 else "core_v1"

    ordered: dict[str, ModelSpec] = {}
    visiting: set[str] = set()
    used_by: dict[str, list[str]] = {}

    def visit(source: str) -> None:
        if source in ordered or source in EXISTING_TYPES:
            return
        if source in visiting:
            raise SystemExit(f"{source} refers to itself; forward references are not generated")
        visiting.add(source)
        cls = openapi_class(source)
        kind = kinds.get(source)
        model = ModelSpec(source, model_name(source), home(source), kind)
        for attr, type_string in cls.openapi_types.items():
            for name in referenced_types(type_string):
                visit(name)
                used_by.setdefault(name, []).append(f"{model.name}.{python_name(attr)}")
            if kind is not None and attr in RESOURCE_FIELDS:
                continue
            text, uses = annotation(type_string, scalar_override(source, attr, type_string))
            model.uses |= uses
            model.fields.append(FieldSpec(
                python_name=python_name(attr), json_name=cls.attribute_map[attr],
                annotation=text, required=is_required(cls, attr),
                description=description(cls, attr),
            ))
        visiting.discard(source)
        ordered[source] = model

    for spec in KINDS:
        visit(spec.source)
    for source, model in ordered.items():
        model.used_by = sorted(used_by.get(source, []))
    check_tables(ordered)
    names = [model.name for model in ordered.values()]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SystemExit(f"two kubernetes_asyncio models map to each of {duplicates}")
    return ordered


def check_tables(models: dict[str, ModelSpec]) -> None:
    """Every entry of the tables names a field the kinds reach: a stale table fails loudly."""
    for table in (INT_OR_STRING_FIELDS, QUANTITY_FIELDS, MICRO_TIME_FIELDS):
        for source, attr in sorted(table):
            if source not in models or attr not in openapi_class(source).openapi_types:
                raise SystemExit(f"{source}.{attr} is in a table but no kind reaches it")
    for source in sorted(META_V1_TYPES):
        if source not in models:
            raise SystemExit(f"{source} is in META_V1_TYPES but no kind reaches it")


# --- rendering ---------------------------------------------------------------------------------

def header(summary: str) -> list[str]:
    api = re.search(r"OpenAPI document: (\S+)", inspect.getsource(openapi_models.v1_pod))
    source = f"kubernetes_asyncio {kubernetes_asyncio.__version__}"
    if api:
        source += f" (Kubernetes API {api.group(1)})"
    return [
        f"# Generated by `{COMMAND}`",
        f"# from the model metadata of {source}.",
        "# Do not edit: change the generator and run it again.",
        *docstring(summary, ""),
        "",
    ]


def docstring(text: str, indent: str) -> list[str]:
    """A docstring (or attribute docstring) block wrapped to the line length."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [""]
    lines: list[str] = []
    width = LINE_LENGTH - len(indent)
    for index, paragraph in enumerate(paragraphs):
        if index:
            lines.append("")
        for raw_line in paragraph.splitlines():
            wrapped = textwrap.wrap(raw_line.strip(), width=width - 3, break_long_words=False,
                                    break_on_hyphens=False) or [""]
            lines.extend(wrapped)
    lines[0] = '"""' + lines[0]
    if len(lines) == 1 and len(indent) + len(lines[0]) + 3 <= LINE_LENGTH:
        lines[0] += '"""'
    else:
        lines.append('"""')
    return [f"{indent}{line}".rstrip() for line in lines]


def field_lines(spec: FieldSpec) -> list[str]:
    """`name: annotation = default`, wrapped the way ruff formats a long one."""
    annotation_text = spec.annotation + ("" if spec.required else " | None")
    arguments = [] if spec.required else ["default=None"]
    if to_camel(spec.python_name) != spec.json_name:
        # validation_alias and serialization_alias rather than alias: type checkers take
        # `alias` as the constructor's keyword, and constructors keep the snake_case names.
        arguments += [f'validation_alias="{spec.json_name}"',
                      f'serialization_alias="{spec.json_name}"']
    value = ""
    if len(arguments) > 1:
        value = f"Field({', '.join(arguments)})"
    elif arguments:
        value = "None"
    name = f"    {spec.python_name}: "
    assignment = f" = {value}" if value else ""
    lines = [f"{name}{annotation_text}{assignment}"]
    if len(lines[0]) > LINE_LENGTH and value.startswith("Field("):
        lines = [f"{name}{annotation_text} = Field("]
        if len(f"        {', '.join(arguments)}") <= LINE_LENGTH:
            lines.append(f"        {', '.join(arguments)}")
        else:
            lines.extend(f"        {argument}," for argument in arguments)
        lines.append("    )")
    if len(lines[0]) > LINE_LENGTH:
        closing = f"    ){lines[0][len(name) + len(annotation_text):]}"
        lines = [f"{name}(", f"        {annotation_text}", closing, *lines[1:]]
    if spec.description:
        lines.extend(docstring(spec.description, "    "))
    return lines


def class_lines(model: ModelSpec) -> list[str]:
    if model.kind is not None:
        kind = model.kind
        keywords = [f'group="{kind.group}"', f'version="{kind.version}"', f'kind="{kind.kind}"',
                    f'plural="{kind.plural}"']
        if not kind.namespaced:
            keywords.append("namespaced=False")
        opening = f"class {model.name}(BuiltinResource, {', '.join(keywords)}):"
        if len(opening) > LINE_LENGTH:
            indent = " " * len(f"class {model.name}(")
            opening = f"class {model.name}(BuiltinResource, {', '.join(keywords[:2])},"
            opening += f"\n{indent}{', '.join(keywords[2:])}):"
        summary = kind.summary
    else:
        opening = f"class {model.name}(BuiltinModel):"
        shown = ", ".join(f"`{name}`" for name in model.used_by[:3])
        more = len(model.used_by) - 3
        summary = f"The type of {shown}" + (f" and {more} more fields." if more > 0 else ".")
    lines = [*opening.split("\n"), *docstring(summary, "    ")]
    for spec in model.fields:
        lines.append("")
        lines.extend(field_lines(spec))
    return lines


def import_line(module: str, names: list[str]) -> list[str]:
    single = f"from {module} import {', '.join(names)}"
    if len(single) <= LINE_LENGTH:
        return [single]
    return [f"from {module} import (", *(f"    {name}," for name in names), ")"]


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff's isort gives names: CONSTANTS, Classes, then functions."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def render_module(module: str, models: list[ModelSpec], defined_in: dict[str, str]) -> str:
    uses = set().union(*(model.uses for model in models))
    base_names = {"BuiltinResource" if any(m.kind for m in models) else "",
                  "BuiltinModel" if any(m.kind is None for m in models) else ""}
    base_names |= uses & {"IntOrString", "Quantity", "MicroTime"}
    base_names.discard("")
    local: dict[str, set[str]] = {"._base": base_names}
    for name in sorted(uses):
        if name in defined_in and defined_in[name] != module:
            local.setdefault(f".{defined_in[name]}", set()).add(name)
    for existing_module, existing_name in EXISTING_TYPES.values():
        if existing_name in uses:
            local.setdefault(existing_module, set()).add(existing_name)

    lines = header(f"Models of {MODULES[module]}.")
    if "Any" in uses:
        lines.extend(["from typing import Any", ""])
    pydantic_names = sorted({"AwareDatetime"} & uses | (
        {"Field"} if any(to_camel(f.python_name) != f.json_name
                         for m in models for f in m.fields) else set()), key=isort_key)
    if pydantic_names:
        lines.extend([*import_line("pydantic", pydantic_names), ""])
    # Relative imports, furthest first, then by module name (ruff's isort order).
    for name in sorted(local, key=lambda m: (-(len(m) - len(m.lstrip("."))), m)):
        lines.extend(import_line(name, sorted(local[name], key=isort_key)))
    for model in models:
        lines.extend(["", "", *class_lines(model)])
    return "\n".join(lines) + "\n"


def render_init() -> str:
    kinds = sorted(KINDS, key=lambda spec: (list(MODULES).index(spec.module), spec.kind))
    by_module: dict[str, list[str]] = {}
    for spec in kinds:
        by_module.setdefault(spec.module, []).append(spec.kind)
    summary = (
        "Typed models of built-in kinds, one module per group-version.\n\n"
        "`from controllerkit.kinds import Deployment` imports the module of that kind on first\n"
        "use; nested types (`DeploymentSpec`, `Container`, ...) are imported from their module\n"
        "(`controllerkit.kinds.apps_v1`, `controllerkit.kinds.core_v1`). Every model keeps the\n"
        "fields it does not name, so objects from a newer server survive a round trip.\n"
    )
    lines = header(summary)
    lines.extend(["import importlib", "from typing import TYPE_CHECKING, Any", "",
                  "from ._base import BuiltinModel, BuiltinResource, IntOrString, MicroTime, "
                  "Quantity", "", "if TYPE_CHECKING:"])
    for module in sorted(by_module):
        lines.extend("    " + line for line in import_line(f".{module}",
                                                             sorted(by_module[module])))
    lines.extend(["", "_MODULE_OF_KIND = {"])
    for spec in kinds:
        lines.append(f'    "{spec.kind}": "{spec.module}",')
    lines.extend(["}", ""])
    exported = sorted([*(spec.kind for spec in KINDS), "BuiltinModel", "BuiltinResource",
                       "IntOrString", "MicroTime", "Quantity"])
    lines.append("__all__ = [")
    lines.extend(f'    "{name}",' for name in exported)
    lines.extend([
        "]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        '    """A kind\'s model, imported with its module the first time it is asked for."""',
        "    module = _MODULE_OF_KIND.get(name)",
        "    if module is None:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        '    model = getattr(importlib.import_module(f".{module}", __name__), name)',
        "    globals()[name] = model",
        "    return model",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted({*globals(), *__all__})",
    ])
    return "\n".join(lines) + "\n"


def render() -> dict[Path, str]:
    """The content of every generated file, by path."""
    models = collect()
    defined_in = {model.name: model.module for model in models.values()}
    files: dict[Path, str] = {}
    for module in MODULES:
        members = [model for model in models.values() if model.module == module]
        files[PACKAGE / f"{module}.py"] = render_module(module, members, defined_in)
    files[PACKAGE / "__init__.py"] = render_init()
    return files


def stale(files: dict[Path, str]) -> Iterator[Path]:
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated module is out of date")
    arguments = parser.parse_args(argv)
    files = render()
    if arguments.check:
        outdated = list(stale(files))
        for path in outdated:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if outdated else 0
    PACKAGE.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
