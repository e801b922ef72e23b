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


def failure_message(result):
    """The msg of the task that failed (the one line an operator reads), unfolded from the YAML result format."""
    # The last failure: an earlier one may have been rescued into the clear message.
    failed = list(re.finditer(r"^(fatal: \[localhost\]: FAILED!|failed: \[localhost\] \(item=)", result.stdout, re.MULTILINE))
    assert failed, result.stdout[-3000:]
    lines = result.stdout[failed[-1].start():].splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith("msg: "):
            indent = len(line) - len(line.lstrip())
            text = [line.strip()[len("msg: "):]]
            for following in lines[number + 1:]:
                if not following.strip() or len(following) - len(following.lstrip()) <= indent:
                    break
                text.append(following.strip())
            return " ".join(text).strip("'\"")
    raise AssertionError(result.stdout[-3000:])
