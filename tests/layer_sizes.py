"""Layer sizes read apart from image_build_report, and a run of that module, for every suite that checks what it
measured (tests/images, tests/cluster)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
ANSIBLE = pathlib.Path(shutil.which("ansible") or ROOT / ".venv" / "bin" / "ansible")


def layer_sizes(ref: str) -> dict[str, tuple[int, int]]:
    """(gzip level 6 size, tar size) of each layer of ref, by diff ID, from `docker save`."""
    sizes = {}
    with subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE) as save:
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and (member.name.endswith("/layer.tar") or member.name.startswith("blobs/")):
                    data = archive.extractfile(member).read()
                    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
                    sizes["sha256:" + hashlib.sha256(data).hexdigest()] = (
                        len(compressor.compress(data) + compressor.flush()), len(data))
    return sizes


def measure(ref: str, tmp_path: pathlib.Path, **more) -> dict:
    """image_build_report's result for ref alone (MORE: its other options), cache and report under tmp_path."""
    image_id = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref],
                              capture_output=True, text=True, check=True).stdout.strip()
    image = {"component": "probe", "name": ref.rsplit(":", 1)[0], "tag": ref.rsplit(":", 1)[1], "ref": ref,
             "id": image_id, "limit_mb": 1000}
    args = {"images": [image], "path": str(tmp_path / "report.json"), "cache_dir": str(tmp_path / "layers"), **more}
    done = subprocess.run([str(ANSIBLE), "localhost", "-m", "image_build_report", "-a", json.dumps(args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
