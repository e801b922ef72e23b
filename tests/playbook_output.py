"""Reading what ansible-playbook printed, for every suite that runs a playbook (tests/conftest.py's folder is on
sys.path for the suites under tests/; molecule/shared/live.py puts it there for the Molecule verifiers)."""
import re


def recap(output):
    """The PLAY RECAP counters of localhost, {"ok": 12, "changed": 0, ...}, from a run's text or its
    subprocess.CompletedProcess (stdout)."""
    text = output if isinstance(output, str) else output.stdout
    line = re.search(r"^localhost\s*:\s*(.*)$", text, re.MULTILINE)
    assert line, text[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}
