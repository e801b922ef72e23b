"""playbooks/diagnose.yml on the live, healthy release: it exits 0 with changed=0, also in check mode. The breaks
it names, each repaired by its runbook section's own commands, are in molecule/runbooks (make test-runbooks)."""
import pytest
from live import NAMESPACE
from runbooks import diagnose

pytestmark = pytest.mark.skipif(NAMESPACE != "todo-list", reason="the runbooks name the namespace todo-list")


def test_diagnose_on_a_healthy_release_exits_0_with_changed_0_also_in_check_mode():
    for flags in ((), ("--check",)):
        result = diagnose(*flags)
        assert result.returncode == 0 and "healthy: true" in result.stdout, result.stdout[-3000:]
