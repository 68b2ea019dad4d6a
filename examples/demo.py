"""A guided tour of the embedded API server, driven by the real kubectl.

Run it with `nox -s demo` (or `python -m examples.demo`). It starts `controllerkit apiserver`
on a free port, registers a CustomResourceDefinition, creates an object, plays the controller's
part by writing its status through the status subresource, and waits for it the way
automation does (`kubectl wait --for=condition=Ready`).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.demo.controllerkit.dev
spec:
  group: demo.controllerkit.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1, default: 1}
                colour: {type: string, enum: [red, green, blue]}
            status:
              type: object
              properties:
                conditions:
                  type: array
                  items:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
"""

WIDGET = """\
apiVersion: demo.controllerkit.dev/v1
kind: Widget
metadata: {name: sprocket, namespace: default}
spec: {size: 3, colour: blue}
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="controllerkit-demo-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = subprocess.Popen(
            [sys.executable, "-m", "controllerkit.cli", "apiserver", "--port", "0",
             "--kubeconfig-out", str(kubeconfig)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout is not None
            banner = server.stdout.readline().strip()
            print(f"$ controllerkit apiserver --port 0 --kubeconfig-out {kubeconfig}\n{banner}\n")
            kubectl = Kubectl(kubeconfig, Path(tmp) / "cache")
            kubectl("apply", "-f", "-", stdin=WIDGET_CRD, show_input="widget-crd.yaml")
            kubectl("wait", "--for=condition=Established", "crd/widgets.demo.controllerkit.dev")
            kubectl("apply", "-f", "-", stdin=WIDGET, show_input="widget.yaml")
            kubectl("get", "widgets")
            print("# An invalid object is refused with the schema's reason:")
            kubectl("apply", "-f", "-", stdin=WIDGET.replace("size: 3", "size: 0"),
                    check=False, show_input="bad-widget.yaml")
            rv = json.loads(kubectl("get", "widget", "sprocket", "-o", "json", quiet=True))[
                "metadata"]["resourceVersion"]
            print("# A status write that does not say which version it was computed from is "
                  "refused:")
            kubectl("patch", "widget", "sprocket", "--subresource=status", "--type=merge",
                    "-p", '{"status":{"phase":"Ready"}}', check=False)
            print("# The controller's part: status through the status subresource, with the "
                  "resourceVersion it read:")
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            patch = {"metadata": {"resourceVersion": rv}, "status": {"conditions": [{
                "type": "Ready", "status": "True", "reason": "Assembled",
                "message": "all 3 parts fitted", "lastTransitionTime": now,
                "observedGeneration": 1}]}}
            kubectl("patch", "widget", "sprocket", "--subresource=status", "--type=merge",
                    "-p", json.dumps(patch))
            kubectl("wait", "--for=condition=Ready=true", "widget/sprocket", "--timeout=10s")
            kubectl("get", "widgets")
            kubectl("get", "widget", "sprocket", "-o", "yaml")
            kubectl("delete", "widget", "sprocket")
            kubectl("get", "widgets")
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def __call__(
        self, *args: str, stdin: str | None = None, check: bool = True,
        quiet: bool = False, show_input: str = "",
    ) -> str:
        if not quiet:
            shown = " ".join(shlex.quote(a) for a in args)
            if show_input:
                print(f"$ cat {show_input}\n{stdin}")
                shown = shown.replace("-f -", f"-f {show_input}")
            print(f"$ kubectl {shown}")
        proc = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True,
                              check=False)
        if not quiet:
            print((proc.stdout + proc.stderr).rstrip() + "\n")
        if check and proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed with exit code {proc.returncode}")
        return proc.stdout


if __name__ == "__main__":
    sys.exit(main())
