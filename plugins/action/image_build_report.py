"""The module image_build_report, run in Ansible's worker process when the host is this machine (in_process.py)."""
from __future__ import annotations

from ansible.plugins.loader import action_loader

# From a checkout (ansible.cfg's action_plugins) or from the installed collection.
ActionModule = action_loader.get("in_process", class_only=True) or action_loader.get("todo.k8s.in_process", class_only=True)
