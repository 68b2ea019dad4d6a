"""checkpoint_scope: one stable, file-name-safe, distinct name per watched kind and scope."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from controllerkit.cache.checkpoint import checkpoint_scope
from controllerkit.meta import CONFIG_MAP, NAMESPACE, SECRET, ResourceKind

WIDGET_V1 = ResourceKind("example.com", "v1", "Widget", "widgets")
WIDGET_V2 = ResourceKind("example.com", "v2", "Widget", "widgets")
OTHER_WIDGET = ResourceKind("example.org", "v1", "Widget", "widgets")
SAFE_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


def test_every_different_watch_gets_a_different_scope() -> None:
    kinds = [CONFIG_MAP, SECRET, WIDGET_V1, WIDGET_V2, OTHER_WIDGET]
    namespaces = [None, "default", "kube-system"]
    label_selectors = ["", "app=web", "app=db", "app in (web, db),!canary"]
    field_selectors = ["", "metadata.name=web", "metadata.namespace!=default"]
    watches = list(itertools.product(kinds, namespaces, label_selectors, field_selectors))

    scopes = {checkpoint_scope(*watch) for watch in watches}

    assert len(scopes) == len(watches)


def test_selector_text_cannot_collide_with_the_namespace_or_the_other_selector() -> None:
    # Naive concatenation would map all three to the same string.
    assert len({
        checkpoint_scope(CONFIG_MAP, "a", "b", ""),
        checkpoint_scope(CONFIG_MAP, "a", "", "b"),
        checkpoint_scope(CONFIG_MAP, None, "a,b", ""),
    }) == 3


def test_the_scope_is_stable_across_processes_and_releases() -> None:
    # A changed derivation would make every existing checkpoint unreachable (a cold start after
    # an upgrade), so the exact value is part of the contract.
    assert checkpoint_scope(CONFIG_MAP, "default", "", "") == (
        "configmaps.v1_ns-default_13d183c4d4751cdc1543cc4b9b37f8f3"
    )
    assert checkpoint_scope(WIDGET_V1, None, "app=web", "") == (
        "widgets.example.com.v1_all_531d146b824199fe39a9428abbaded4a"
    )


def test_no_namespace_and_the_empty_namespace_both_mean_all_namespaces() -> None:
    assert checkpoint_scope(CONFIG_MAP, None, "", "") == checkpoint_scope(CONFIG_MAP, "", "", "")


def test_a_cluster_scoped_kind_ignores_the_namespace() -> None:
    assert checkpoint_scope(NAMESPACE, "default", "", "") == checkpoint_scope(NAMESPACE, None, "",
                                                                              "")


def test_scopes_are_safe_bounded_file_names(tmp_path: Path) -> None:
    long_group = ".".join(["averyveryverylonggroupname"] * 9)
    awkward = [
        (CONFIG_MAP, "kube-system", "app in (a, b),tier notin (x)", "metadata.name=a/b"),
        (ResourceKind(long_group, "v1beta1", "Thing", "things"), "n" * 63, "x=y", ""),
        (ResourceKind("Example.COM", "V1", "Odd", "Odds"), "default", "../../etc", "*"),
    ]
    for watch in awkward:
        scope = checkpoint_scope(*watch)

        assert SAFE_FILE_NAME.fullmatch(scope), scope
        assert len(scope) <= 180
        (tmp_path / f"{scope}.json").write_text("{}")
