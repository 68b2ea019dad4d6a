"""The contenders of the controller benchmark (`python -m benchmarks.controller`).

Each module here is one controller process doing the same job, run as
`python -m benchmarks.controller_contenders.<module> --kubeconfig PATH`: for every Gadget
created in the `default` namespace, set its `Ready` condition to True through the status
subresource. Each runs until SIGTERM and then exits 0; anything else it has to say goes to
stderr. Only `job` is shared, and it imports neither controllerkit nor kopf, so every
contender's memory and CPU are its own stack's.
"""
