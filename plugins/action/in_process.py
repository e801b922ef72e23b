"""Runs one of this collection's modules inside Ansible's worker process when the host is this machine.

Each of the collection's modules has an action plugin of its name that is this class (image_build_state.py and the
others). On a local connection, without become, async or a task environment, the module's own code runs right here,
in the worker Ansible forked for the task: the same AnsibleModule with the same arguments, check and diff mode and
no_log handling, and its result parsed the way Ansible parses a module's output. What that skips is the module's
trip through a new Python (AnsiballZ payload, temporary folder, interpreter start, ansible.module_utils imports):
0.25 to 0.4 s a task, measured, and these modules run on every site.yml. Anywhere else, and if this Ansible lacks
the internals used here, the module runs as any other.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json

from ansible.module_utils import basic
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

try:
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # an Ansible without module serialization profiles: the module runs as any other
    get_module_encoder = None

PROFILE = "legacy"  # the serialization profile of a module built on AnsibleModule


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # The module's file, found as Ansible finds it (a short name from a role of the collection too); not looked
        # up where the module runs as any other (_execute_module finds it then).
        found = self._runs_here() and self._shared_loader_obj.module_loader.find_plugin_with_context(
            self._task.action, mod_type=".py", collection_list=self._task.collections)
        if not (found and found.resolved):
            return merge_hash(result, self._execute_module(task_vars=task_vars))
        module_args = dict(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        spec = importlib.util.spec_from_file_location("todo_k8s_in_process_module", found.plugin_resolved_path)
        module = importlib.util.module_from_spec(spec)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        # What AnsibleModule reads instead of its stdin; this worker ends with the task, and these with it.
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()
        basic._ANSIBLE_PROFILE = PROFILE
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            try:
                spec.loader.exec_module(module)
                module.main()
            except SystemExit:  # exit_json and fail_json print the result, then exit
                pass
        returned = self._parse_returned_data({"rc": 0, "stdout": stdout.getvalue(), "stderr": ""}, PROFILE)
        returned.remove_internal_keys()
        return merge_hash(result, returned.as_result_dict(for_round_trip=True))

    def _runs_here(self) -> bool:
        return (self._connection.transport == "local" and not self._play_context.become and not self._task.async_val
                and not any(self._task.environment or []) and get_module_encoder is not None
                and hasattr(basic, "_ANSIBLE_ARGS") and hasattr(basic, "_ANSIBLE_PROFILE"))
