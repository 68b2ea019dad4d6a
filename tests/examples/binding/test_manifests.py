"""The committed manifests match the code they are generated from."""

from __future__ import annotations

from pathlib import Path

from examples.binding.kinds import crds_yaml

MANIFESTS = Path(__file__).resolve().parents[3] / "examples" / "binding" / "manifests"


def test_the_committed_crds_are_the_generated_ones() -> None:
    # Regenerate with: python -m examples.binding.kinds > examples/binding/manifests/crds.yaml
    assert (MANIFESTS / "crds.yaml").read_text() == crds_yaml()
