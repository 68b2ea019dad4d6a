"""Kubernetes protobuf request bodies: decoding to JSON, rejecting what cannot be read, kubectl."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.apiserver.errors import StatusError
from controllerkit.apiserver.protobuf import PROTOBUF_MEDIA_TYPE, decode_kubernetes_protobuf
from controllerkit.apiserver.protobuf_types import MESSAGES, SCALARS, TOP_LEVEL, WELL_KNOWN
from controllerkit.apiserver.protobuf_wire import ProtobufDecodeError, iter_fields, read_varint
from controllerkit.testing import Kubectl

# -- a tiny test-only encoder ------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64 travel as 10-byte two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def num(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def blob(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


def text(number: int, value: str) -> bytes:
    return blob(number, value.encode())


def msg(number: int, *fields: bytes) -> bytes:
    return blob(number, b"".join(fields))


def entry(number: int, key: str, value_field: bytes) -> bytes:
    return msg(number, text(1, key), value_field)


def envelope(api_version: str, kind: str, *fields: bytes) -> bytes:
    type_meta = msg(1, text(1, api_version), text(2, kind))
    return b"k8s\x00" + type_meta + blob(2, b"".join(fields)) + text(3, "") + text(4, "")


def metadata(name: str, **extra: bytes) -> bytes:
    # The Go marshaller writes every non-pointer field, empty or not; so does this helper.
    return msg(1, text(1, name), text(2, ""), text(3, ""), text(4, ""), text(5, ""),
               text(6, ""), num(7, 0), blob(8, b""), *extra.values())


def quantity(number: int, value: str) -> bytes:
    return msg(number, text(1, value))


def job_with_container(*container_fields: bytes) -> bytes:
    """A Job whose pod template has one container named `c` with these extra fields."""
    container = msg(2, text(1, "c"), *container_fields)
    return envelope("batch/v1", "Job", msg(2, msg(6, msg(2, container))))


def first_container(body: bytes) -> dict[str, Any]:
    container: dict[str, Any] = (
        decode_kubernetes_protobuf(body)["spec"]["template"]["spec"]["containers"][0])
    return container


# -- objects as kubectl and client-go build them -------------------------------------------------

# Captured from `kubectl create configmap a --from-literal=k=v` (kubectl 1.32).
KUBECTL_CONFIGMAP = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d6170121b0a110a016112001a0022002a0032003800420012060a"
    "016b1201761a002200"
)
# Captured from `kubectl create job j --image=busybox -- echo hi`.
KUBECTL_JOB = bytes.fromhex(
    "6b3873000a0f0a0862617463682f763112034a6f621282010a110a016a12001a0022002a003200380042001263"
    "32610a100a0012001a0022002a00320038004200124d122a0a016a120762757379626f781a046563686f1a0268"
    "692a0042006a007200800100880100900100a201001a054e65766572320042004a005200580060006800820100"
    "8a01009a0100c201001a082000280030003a001a002200"
)

SECRET = envelope(
    "v1", "Secret",
    metadata("s", labels=entry(11, "app", text(2, "web"))),
    entry(2, "p", blob(2, b"\x00\xffq")), text(3, "Opaque"), entry(4, "plain", text(2, "x")),
    num(5, 1),
)
NAMESPACE = envelope(
    "v1", "Namespace", metadata("n"), msg(2, text(1, "kubernetes")), msg(3, text(1, "")),
)
LEASE = envelope(
    "coordination.k8s.io/v1", "Lease",
    metadata("leader", annotations=entry(12, "note", text(2, "x"))),
    msg(2, text(1, "pod-a"), num(2, 15), msg(3, num(1, 1767225600), num(2, 123456789)),
        msg(4, num(1, 1767225601)), num(5, 0)),
)
# Volume{1 name, 2 VolumeSource (inlined){2 emptyDir, 19 configMap}}
CACHE_VOLUME = msg(1, text(1, "cache"), msg(2, msg(2, text(1, "Memory"), quantity(2, "64Mi"))))
CONFIG_VOLUME = msg(1, text(1, "cfg"), msg(2, msg(
    19, msg(1, text(1, "settings")), msg(2, text(1, "k"), text(2, "k.txt")), num(3, 420))))
# Container{1 name, 2 image, 3 command, 4 args, 6 ports, 7 env, 8 resources, 9 volumeMounts,
# 11 readinessProbe{1 ProbeHandler (inlined){2 httpGet}, 4 periodSeconds}, 14 imagePullPolicy}
MAIN_CONTAINER = msg(
    2, text(1, "main"), text(2, "busybox"), text(3, "sh"), text(4, "-c"),
    msg(6, text(1, "http"), num(3, 8080), text(4, "TCP")),
    msg(7, text(1, "MODE"), text(2, "fast")),
    msg(7, text(1, "TOKEN"), msg(3, msg(4, msg(1, text(1, "creds")), text(2, "token")))),
    msg(8, entry(1, "cpu", quantity(2, "500m")), entry(2, "memory", quantity(2, "64Mi"))),
    msg(9, text(1, "cache"), num(2, 0), text(3, "/cache")),
    msg(11, msg(1, msg(2, text(1, "/healthz"), msg(2, num(1, 1), text(3, "http")))), num(4, 5)),
    text(14, "IfNotPresent"),
)
# PodTemplateSpec{1 metadata, 2 PodSpec{3 restartPolicy, 4 terminationGracePeriodSeconds,
# 7 nodeSelector, 8 serviceAccountName}}
TEMPLATE = msg(6, msg(1, text(1, "")), msg(
    2, CACHE_VOLUME, CONFIG_VOLUME, MAIN_CONTAINER, text(3, "Never"), num(4, 30),
    entry(7, "disk", text(2, "ssd")), text(8, "runner")))
# PodFailurePolicy{1 rules{1 action, 2 onExitCodes{1 containerName, 2 operator, 3 packed values}}}
FAILURE_POLICY = msg(11, msg(1, text(1, "FailJob"), msg(
    2, text(1, "main"), text(2, "In"), blob(3, varint(42) + varint(7)))))
JOB = envelope(
    "batch/v1", "Job", metadata("j"),
    msg(2, num(1, 2), num(2, 4), num(7, 0), num(10, 0),
        msg(4, entry(1, "app", text(2, "j")),
            msg(2, text(1, "tier"), text(2, "In"), text(3, "a"), text(3, "b"))),
        TEMPLATE, num(8, 100), text(9, "Indexed"), num(12, 1), text(14, "Failed"),
        FAILURE_POLICY),
    msg(3),
)
DELETE_OPTIONS = envelope(
    "v1", "DeleteOptions",
    num(1, 0), msg(2, text(1, "uid-1"), text(2, "42")), text(4, "Foreground"),
    text(5, "All"),
)
EVENT = envelope(
    "v1", "Event", metadata("ev"),
    msg(2, text(1, "Pod"), text(2, "default"), text(3, "web-0"), text(5, "v1")),
    text(3, "Started"), text(4, "started container"), msg(5, text(1, "kubelet")),
    blob(6, b""), msg(7, num(1, 0)), num(8, 3), text(9, "Normal"),
    msg(11, num(1, 2), msg(2, num(1, -1), num(2, 5000))), text(14, ""), text(15, "node-1"),
)


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param(KUBECTL_CONFIGMAP, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"},
    }, id="configmap-from-kubectl"),
    pytest.param(envelope("v1", "ConfigMap", metadata("c"), entry(3, "b", blob(2, b"\x01\x02")),
                          num(4, 0)), {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "binaryData": {"b": "AQI="}, "immutable": False,
    }, id="configmap-binary-data-and-immutable-false"),
    pytest.param(SECRET, {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "labels": {"app": "web"}},
        "data": {"p": "AP9x"}, "type": "Opaque", "stringData": {"plain": "x"}, "immutable": True,
    }, id="secret-bytes-as-base64"),
    pytest.param(NAMESPACE, {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"},
        "spec": {"finalizers": ["kubernetes"]}, "status": {},
    }, id="namespace"),
    pytest.param(LEASE, {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "leader", "annotations": {"note": "x"}},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                 "acquireTime": "2026-01-01T00:00:00.123456Z",
                 "renewTime": "2026-01-01T00:00:01.000000Z", "leaseTransitions": 0},
    }, id="lease-microtimes"),
    pytest.param(DELETE_OPTIONS, {
        "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
        "propagationPolicy": "Foreground", "dryRun": ["All"],
    }, id="delete-options"),
    pytest.param(envelope("batch/v1", "DeleteOptions", num(3, 1)), {
        "apiVersion": "batch/v1", "kind": "DeleteOptions", "orphanDependents": True,
    }, id="delete-options-under-any-group-version"),
    pytest.param(EVENT, {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0",
                           "apiVersion": "v1"},
        "reason": "Started", "message": "started container", "source": {"component": "kubelet"},
        "lastTimestamp": "1970-01-01T00:00:00Z", "count": 3, "type": "Normal",
        "series": {"count": 2, "lastObservedTime": "1969-12-31T23:59:59.000005Z"},
        "reportingComponent": "", "reportingInstance": "node-1",
    }, id="event-times-and-required-strings"),
])
def test_decodes_object_to_the_json_the_client_would_send(
    body: bytes, expected: dict[str, Any]
) -> None:
    assert decode_kubernetes_protobuf(body) == expected


def test_decodes_job_created_by_kubectl() -> None:
    assert decode_kubernetes_protobuf(KUBECTL_JOB) == {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"metadata": {}, "spec": {
            "containers": [{"name": "j", "image": "busybox", "command": ["echo", "hi"],
                            "resources": {}}],
            "restartPolicy": "Never",
        }}},
        "status": {},
    }


def test_decodes_job_spec_with_pod_template_in_full() -> None:
    spec = decode_kubernetes_protobuf(JOB)["spec"]
    pod = spec.pop("template")["spec"]
    assert spec == {
        "parallelism": 2, "completions": 4, "backoffLimit": 0, "suspend": False,
        "selector": {"matchLabels": {"app": "j"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]}]},
        "ttlSecondsAfterFinished": 100, "completionMode": "Indexed", "backoffLimitPerIndex": 1,
        "podReplacementPolicy": "Failed",
        "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
            "containerName": "main", "operator": "In", "values": [42, 7]}}]},
    }
    assert pod == {
        "volumes": [
            {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420,
                                          "items": [{"key": "k", "path": "k.txt"}]}},
        ],
        "containers": [{
            "name": "main", "image": "busybox", "command": ["sh"], "args": ["-c"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "fast"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                     "key": "token"}}}],
            "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                               "periodSeconds": 5},
            "imagePullPolicy": "IfNotPresent",
        }],
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
        "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "runner",
    }


@pytest.mark.parametrize(("port_fields", "expected"), [
    ((num(1, 0), num(2, 8080)), 8080),
    ((num(1, 1), text(3, "web")), "web"),
    ((), 0),
])
def test_int_or_string_becomes_number_or_name(
    port_fields: tuple[bytes, ...], expected: int | str
) -> None:
    probe = msg(10, msg(1, msg(3, msg(1, *port_fields))))  # livenessProbe.tcpSocket.port
    assert first_container(job_with_container(probe))["livenessProbe"] == {
        "tcpSocket": {"port": expected}}


@pytest.mark.parametrize(("fields", "expected"), [
    ((text(1, "a"), text(1, "b")), {"name": "b"}),  # last occurrence wins
    ((text(1, "a"), text(1, "")), {}),  # ... even when it is the zero value
    ((num(7, 2),), {"generation": 2}),
    ((num(7, -1),), {"generation": -1}),  # negative ints are 10-byte two's complement
    ((num(10, 0),), {"deletionGracePeriodSeconds": 0}),  # a pointer keeps its zero
    ((msg(9, num(1, 1767225600), num(2, 999)),), {"deletionTimestamp": "2026-01-01T00:00:00Z"}),
    ((entry(11, "a", text(2, "1")), entry(11, "b", b"")), {"labels": {"a": "1", "b": ""}}),
    ((text(14, "x"), text(14, "y")), {"finalizers": ["x", "y"]}),
    ((text(1, "caf\xe9"),), {"name": "café"}),
    ((blob(1, b"\xff"),), {"name": "\ufffd"}),  # invalid UTF-8 is replaced, as Go's JSON does
])
def test_object_meta_follows_protobuf_and_omitempty_rules(
    fields: tuple[bytes, ...], expected: dict[str, Any]
) -> None:
    body = envelope("v1", "ConfigMap", msg(1, *fields))
    assert decode_kubernetes_protobuf(body)["metadata"] == expected


def test_owner_references_and_managed_fields_decode() -> None:
    owner = msg(13, text(1, "Job"), text(3, "j"), text(4, "u1"), text(5, "batch/v1"),
                num(6, 1), num(7, 0))
    managed = msg(17, text(1, "kubectl"), text(2, "Update"), text(3, "v1"),
                  msg(4, num(1, 0)), text(6, "FieldsV1"), msg(7, blob(1, b'{"f:data":{}}')))
    meta = decode_kubernetes_protobuf(envelope("v1", "ConfigMap", msg(1, owner, managed)))
    assert meta["metadata"] == {
        "ownerReferences": [{"kind": "Job", "name": "j", "uid": "u1", "apiVersion": "batch/v1",
                             "controller": True, "blockOwnerDeletion": False}],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "1970-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}}],
    }


@pytest.mark.parametrize(("value_field", "expected"), [
    (quantity(2, "1Gi"), "1Gi"),
    (msg(2), "0"),  # an unset Quantity is Go's zero quantity
    (b"", "0"),  # so is a map entry without a value
])
def test_quantity_map_values(value_field: bytes, expected: str) -> None:
    body = job_with_container(msg(8, entry(1, "memory", value_field)))
    assert first_container(body)["resources"] == {"limits": {"memory": expected}}


# -- what must be refused ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"kind": "ConfigMap"}', id="json-not-protobuf"),
    pytest.param(b"k8s\x00", id="no-envelope-fields"),
    pytest.param(envelope("example.com/v1", "Widget", metadata("w")), id="unknown-kind"),
    pytest.param(envelope("v1beta1", "ConfigMap", metadata("c")), id="unknown-version"),
    pytest.param(envelope("v1", "ConfigMap", num(99, 1)), id="unknown-field"),
    pytest.param(envelope("v1", "ConfigMap", msg(1, text(16, "x"))), id="unknown-nested-field"),
    pytest.param(envelope("v1", "ConfigMap", num(1, 5)), id="varint-where-message-expected"),
    pytest.param(envelope("v1", "ConfigMap", text(4, "yes")), id="bytes-where-bool-expected"),
    pytest.param(envelope("v1", "ConfigMap", tag(2, 3)), id="group-wire-type"),
    pytest.param(envelope("v1", "ConfigMap", tag(0, 0) + varint(1)), id="field-number-zero"),
    pytest.param(envelope("v1", "ConfigMap", tag(1, 2) + varint(50) + b"x"), id="truncated"),
    pytest.param(envelope("v1", "ConfigMap", num(4, 1)[:-1] + b"\xff" * 11), id="long-varint"),
    pytest.param(b"k8s\x00" + text(2, "raw") + text(3, "gzip"), id="content-encoding"),
    pytest.param(envelope("v1", "Event", msg(6, num(1, 10**15))), id="time-out-of-range"),
    pytest.param(job_with_container(msg(10, msg(1, msg(3, msg(1, num(1, 7)))))),
                 id="int-or-string-bad-type"),
    pytest.param(job_with_container(msg(8, entry(1, "cpu", msg(2, text(1, ""))))),
                 id="empty-quantity-string"),
    pytest.param(envelope("v1", "ConfigMap", msg(1, msg(17, msg(7, blob(1, b"{"))))),
                 id="fields-v1-not-json"),
])
def test_undecodable_bodies_answer_415_asking_for_json(body: bytes) -> None:
    with pytest.raises(StatusError) as caught:
        decode_kubernetes_protobuf(body)
    assert caught.value.code == 415
    assert caught.value.reason == "UnsupportedMediaType"
    assert "send it as application/json instead" in caught.value.message


def _decode_or_415(body: bytes) -> None:
    try:
        decode_kubernetes_protobuf(body)
    except StatusError as error:
        assert error.code == 415


@pytest.mark.parametrize("wrap", [
    lambda junk: b"k8s\x00" + junk,
    lambda junk: envelope("v1", "Event", junk),
    lambda junk: envelope("batch/v1", "Job", junk),
    lambda junk: job_with_container(junk),
])
def test_random_bytes_never_raise_anything_but_415(wrap: Callable[[bytes], bytes]) -> None:
    rng = random.Random(20260101)
    for _ in range(1500):
        _decode_or_415(wrap(rng.randbytes(rng.randrange(0, 48))))


@pytest.mark.parametrize("body", [KUBECTL_CONFIGMAP, KUBECTL_JOB, SECRET, LEASE, JOB, EVENT])
def test_truncated_or_corrupted_valid_bodies_never_raise_anything_but_415(body: bytes) -> None:
    rng = random.Random(len(body))
    for cut in range(len(body)):
        _decode_or_415(body[:cut])
    for _ in range(1500):
        corrupted = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            corrupted[rng.randrange(4, len(body))] = rng.randrange(256)
        _decode_or_415(bytes(corrupted))


# -- the wire reader and the tables -----------------------------------------------------------


@pytest.mark.parametrize(("encoded", "value"), [
    (b"\x00", 0), (b"\x7f", 127), (b"\x80\x01", 128), (b"\xac\x02", 300),
    (b"\xff" * 9 + b"\x01", (1 << 64) - 1),
])
def test_read_varint(encoded: bytes, value: int) -> None:
    assert read_varint(encoded, 0) == (value, len(encoded))


@pytest.mark.parametrize("encoded", [b"", b"\x80", b"\xff" * 9 + b"\x02", b"\xff" * 10 + b"\x01"])
def test_read_varint_rejects_truncated_or_oversized(encoded: bytes) -> None:
    with pytest.raises(ProtobufDecodeError):
        read_varint(encoded, 0)


def test_iter_fields_reads_fixed_width_wire_types() -> None:
    data = tag(1, 1) + (7).to_bytes(8, "little") + tag(2, 5) + (9).to_bytes(4, "little")
    assert [(f.number, f.wire_type, f.value) for f in iter_fields(data)] == [(1, 1, 7), (2, 5, 9)]


def _json_names(message: str) -> list[str]:
    names: list[str] = []
    for spec in MESSAGES[message].values():
        names.extend(_json_names(spec.type) if spec.inline else [spec.name])
    return names


def test_every_table_type_is_known_and_json_names_are_unique() -> None:
    for message, fields in MESSAGES.items():
        names = _json_names(message)  # inlined structs share their parent's JSON object
        assert len(names) == len(set(names)), message
        for spec in fields.values():
            assert spec.type in SCALARS | WELL_KNOWN or spec.type in MESSAGES, (message, spec)
            assert not (spec.inline and spec.type not in MESSAGES), (message, spec)
    assert set(TOP_LEVEL.values()) <= set(MESSAGES)


# -- kubectl end to end ------------------------------------------------------------------------


def test_kubectl_imperative_creates_are_stored_as_sent(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "a", "--from-literal=k=v")
    kubectl.run("create", "secret", "generic", "s", "--from-literal=p=q")
    kubectl.run("create", "namespace", "n")
    kubectl.run("create", "job", "j", "--image=busybox", "--", "echo", "hi")

    assert kubectl.json("get", "configmap", "a")["data"] == {"k": "v"}
    assert kubectl.json("get", "secret", "s")["data"] == {"p": "cQ=="}
    assert kubectl.json("get", "namespace", "n")["status"] == {"phase": "Active"}
    pod = kubectl.json("get", "job", "j")["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert [(c["name"], c["image"], c["command"]) for c in pod["containers"]] == [
        ("j", "busybox", ["echo", "hi"])]

    assert 'configmap "a" deleted' in kubectl.run("delete", "configmap", "a").stdout
    gone = kubectl.run("get", "configmap", "a", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def _request(server: ThreadedApiServer, method: str, path: str, body: bytes,
             content_type: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + path, data=body, method=method,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {server.server.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_protobuf_delete_options_reach_the_deletion(apiserver: ThreadedApiServer) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    status, created = _request(apiserver, "POST", path, KUBECTL_CONFIGMAP, PROTOBUF_MEDIA_TYPE)
    assert (status, created["data"]) == (201, {"k": "v"})

    wrong_uid = envelope("v1", "DeleteOptions", msg(2, text(1, "not-the-uid")))
    status, refused = _request(apiserver, "DELETE", f"{path}/a", wrong_uid, PROTOBUF_MEDIA_TYPE)
    assert (status, refused["reason"]) == (409, "Conflict")

    right_uid = envelope("v1", "DeleteOptions", msg(2, text(1, created["metadata"]["uid"])))
    status, _ = _request(apiserver, "DELETE", f"{path}/a", right_uid, PROTOBUF_MEDIA_TYPE)
    assert status == 200

    status, garbage = _request(apiserver, "POST", path, b"k8s\x00\xff", PROTOBUF_MEDIA_TYPE)
    assert (status, garbage["reason"]) == (415, "UnsupportedMediaType")
