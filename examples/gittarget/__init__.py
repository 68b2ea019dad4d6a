"""GitTarget: mirror selected Kubernetes objects into a folder of a git repository, reporting
the lifecycle through conditions (a reference controller built on controllerkit's public API).
"""
