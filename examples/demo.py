"""The tutorial controller at work, driven by the real kubectl.

Run it with `nox -s demo` (or `python -m examples.demo`). It starts `controllerkit apiserver`
on a free port, installs the Website CRD from its pydantic model (`controllerkit crd`), runs
the tutorial controller (`controllerkit run examples.website:manager`), and then does what a
user does: applies a Website, waits for it with `kubectl wait`, deletes its Deployment by hand
and watches the controller repair it, and deletes the Website.

The embedded server runs no workload controllers, so the demo writes the status a real
cluster's Deployment controller would write (`readyReplicas`).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

WEBSITE = """\
apiVersion: example.com/v1
kind: Website
metadata: {name: blog, namespace: default}
spec: {image: "nginx:1.27", replicas: 2}
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="controllerkit-demo-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = subprocess.Popen(
            [sys.executable, "-m", "controllerkit.cli", "apiserver", "--port", "0",
             "--kubeconfig-out", str(kubeconfig)],
            stdout=subprocess.PIPE, text=True)
        controller: subprocess.Popen[str] | None = None
        try:
            assert server.stdout is not None
            banner = server.stdout.readline().strip()
            print(f"$ controllerkit apiserver --port 0 --kubeconfig-out {kubeconfig}\n"
                  f"{banner}\n")
            kubectl = Kubectl(kubeconfig, Path(tmp) / "cache")
            crd = subprocess.run(
                [sys.executable, "-m", "controllerkit.cli", "crd", "examples.website:Website"],
                capture_output=True, text=True, check=True).stdout
            print("# The CRD comes from the pydantic model in examples/website.py:")
            print("$ controllerkit crd examples.website:Website | kubectl apply -f -")
            kubectl("apply", "-f", "-", stdin=crd, echo=False)
            kubectl("wait", "--for=condition=Established", "crd/websites.example.com")

            log = (Path(tmp) / "controller.log").open("w")
            print("$ controllerkit run examples.website:manager &\n")
            controller = subprocess.Popen(
                [sys.executable, "-m", "controllerkit.cli", "run", "examples.website:manager",
                 "--kubeconfig", str(kubeconfig), "--metrics-bind-address", "0",
                 "--health-probe-bind-address", "0"],
                stdout=log, stderr=subprocess.STDOUT, text=True)

            kubectl("apply", "-f", "-", stdin=WEBSITE, show_input="website.yaml")
            kubectl("wait", "--for=create", "deployment/blog", "--timeout=60s")
            kubectl("get", "deployment", "blog")
            print("# (What the cluster's Deployment controller would do: two replicas ready.)")
            kubectl("patch", "deployment", "blog", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"replicas": 2, "readyReplicas": 2}}),
                    echo=False)
            kubectl("wait", "--for=condition=Ready", "website/blog", "--timeout=60s")
            kubectl("get", "website", "blog", "-o",
                    "jsonpath={.status.conditions[0].message}{'\\n'}")

            print("# Delete the Deployment by hand: the controller puts it back.")
            kubectl("delete", "deployment", "blog")
            kubectl("wait", "--for=create", "deployment/blog", "--timeout=60s")
            kubectl("get", "deployment", "blog")

            print("# Delete the Website: its finalizer runs, its Deployment goes with it.")
            kubectl("delete", "website", "blog", "--timeout=60s")
            kubectl("wait", "--for=delete", "deployment/blog", "--timeout=60s")
            kubectl("get", "events", "--field-selector", "involvedObject.kind=Website")

            log.flush()
            print("# What the controller did, from its /metrics:")
            print(reconcile_counts((Path(tmp) / "controller.log").read_text()))
            controller.terminate()
            controller.wait(timeout=30)
            log.close()
            print("\n# The controller's log:")
            print((Path(tmp) / "controller.log").read_text())
        finally:
            for process in (controller, server):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
    return 0


def reconcile_counts(log: str) -> str:
    """The non-zero reconcile counters of the controller whose log this is."""
    found = re.search(r"serving metrics on (http://\S+)", log)
    if found is None:
        return "(metrics not served)"
    with urllib.request.urlopen(f"{found.group(1)}/metrics", timeout=10) as answer:
        metrics = answer.read().decode()
    wanted = ("controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total")
    return "\n".join(line for line in metrics.splitlines()
                     if line.startswith(wanted) and not line.endswith(" 0.0"))


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True,
                 echo: bool = True, show_input: str = "") -> str:
        if echo:
            shown = " ".join(shlex.quote(a) for a in args)
            if show_input:
                print(f"$ cat {show_input}\n{stdin}")
                shown = shown.replace("-f -", f"-f {show_input}")
            print(f"$ kubectl {shown}")
        proc = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True,
                              check=False)
        if echo:
            print((proc.stdout + proc.stderr).rstrip() + "\n")
        if check and proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed with exit code "
                             f"{proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout


if __name__ == "__main__":
    sys.exit(main())
