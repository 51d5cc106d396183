#!/usr/bin/env python3
"""Builds the fuzz corpora (fuzz/corpus/<target>/, not committed) from the repository's own
files, the official ARM examples and the small hand-written seeds in fuzz/seeds/<target>/
(committed: crash reproducers and shapes no repository file has), and the JSON dictionary
fuzz/dict/arm.dict from every key those files use.

    python3 fuzz/seed.py [--arm-examples DIR]

The ARM examples are read from ../shared/arm-examples beside the repository when it exists, and
from tests/fixtures/arm-examples (the copy the tests use) always. Re-running replaces only the
seed files it writes (named seed-*); inputs libFuzzer added to a corpus stay.
"""

import argparse
import glob
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(FUZZ)
TARGETS = ["snapshot", "profile", "check", "arm_payload", "list_page"]


def rel(path):
    return os.path.relpath(path, REPO)


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(FUZZ, "corpus", target)
        os.makedirs(self.dir, exist_ok=True)
        for old in glob.glob(os.path.join(self.dir, "seed-*")):
            os.remove(old)
        self.seen = set()

    def add(self, data, name):
        if isinstance(data, str):
            data = data.encode()
        digest = hashlib.sha1(data).hexdigest()[:12]
        if digest in self.seen:
            return
        self.seen.add(digest)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]
        with open(os.path.join(self.dir, f"seed-{digest}-{safe}"), "wb") as f:
            f.write(data)

    def add_json(self, value, name):
        self.add(json.dumps(value, indent=1, ensure_ascii=False), name)

    def __len__(self):
        return len(self.seen)


def arm_example_files(extra):
    dirs = [os.path.join(REPO, "tests", "fixtures", "arm-examples")]
    if extra and os.path.isdir(extra):
        dirs.insert(0, extra)
    files = {}
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True)):
            files.setdefault(os.path.relpath(path, d), path)
    return [files[k] for k in sorted(files)]


def example_bodies(path):
    """Every response body of an x-ms-examples file, and its request body if it has one."""
    with open(path, encoding="utf-8") as f:
        example = json.load(f)
    for status, response in sorted(example.get("responses", {}).items()):
        if isinstance(response, dict) and "body" in response:
            yield f"response-{status}", response["body"]
    params = example.get("parameters", {})
    for key in ("parameters", "query"):
        if isinstance(params.get(key), (dict, list)):
            yield f"request-{key}", params[key]


def empty_like(snapshot):
    """The example snapshot's header with every collection empty: what a fixture fills."""
    empty = {}
    for key, value in snapshot.items():
        if isinstance(value, list):
            empty[key] = []
        elif isinstance(value, dict) and key not in ("tool", "scope"):
            empty[key] = {}
        else:
            empty[key] = value
    return empty


def keys(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            keys(v, out)
    elif isinstance(value, list):
        for v in value:
            keys(v, out)
    elif isinstance(value, str) and len(value) <= 40 and value.isprintable():
        out.add(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--arm-examples",
        default=os.path.join(os.path.dirname(REPO), "shared", "arm-examples"),
        help="the shared ARM example payloads (default: ../shared/arm-examples)",
    )
    args = parser.parse_args()
    corpora = {t: Corpus(t) for t in TARGETS}

    # Hand-written seeds and crash reproducers, committed.
    for target, corpus in corpora.items():
        for path in sorted(glob.glob(os.path.join(FUZZ, "seeds", target, "*"))):
            with open(path, "rb") as f:
                corpus.add(f.read(), os.path.basename(path))

    dictionary = set()

    # ARM example bodies: payloads for the audit and pages for the pager.
    for path in arm_example_files(args.arm_examples):
        for what, body in example_bodies(path):
            name = f"{os.path.splitext(os.path.basename(path))[0]}-{what}"
            corpora["arm_payload"].add_json(body, name)
            corpora["list_page"].add_json(body, name)
            keys(body, dictionary)

    # The example tenant: its snapshot whole, and each resource of its emulator fixture.
    snapshot_path = os.path.join(REPO, "examples", "contoso", "snapshot.json")
    with open(snapshot_path, "rb") as f:
        snapshot_bytes = f.read()
    corpora["snapshot"].add(snapshot_bytes, "contoso-snapshot.json")
    corpora["snapshot"].add(gzip.compress(snapshot_bytes, mtime=0), "contoso-snapshot.json.gz")
    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c", "-3"], input=snapshot_bytes,
                             capture_output=True, check=True).stdout
        corpora["snapshot"].add(zst, "contoso-snapshot.json.zst")
    snapshot = json.loads(snapshot_bytes)
    keys(snapshot, dictionary)
    with open(os.path.join(REPO, "examples", "contoso", "tenant.json"), encoding="utf-8") as f:
        tenant = json.load(f)
    for resource in tenant.get("resources", []):
        corpora["arm_payload"].add_json(resource, resource.get("name", "resource"))
    corpora["list_page"].add_json({"value": tenant.get("resources", [])[:8]}, "tenant-page")
    corpora["arm_payload"].add_json(tenant, "contoso-tenant.json")

    # Per-check fixtures: small whole inventories, and their resources as payloads.
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "checks", "*", "*.json"))):
        with open(path, encoding="utf-8") as f:
            fixture = json.load(f)
        inventory = fixture.get("inventory")
        if not isinstance(inventory, dict):
            continue
        name = f"{os.path.basename(os.path.dirname(path))}-{os.path.basename(path)}"
        whole = empty_like(snapshot)
        whole.update(inventory)
        corpora["snapshot"].add_json(whole, name)
        for field in ("clusters", "registries", "machines", "policy_assignments",
                      "role_assignments", "virtual_networks"):
            for resource in inventory.get(field) or []:
                corpora["arm_payload"].add_json(resource, f"{name}-{field}")

    # Profiles and check files, as shipped.
    for path in sorted(glob.glob(os.path.join(REPO, "profiles", "*.toml"))):
        with open(path, "rb") as f:
            corpora["profile"].add(f.read(), rel(path))
    for path in sorted(glob.glob(os.path.join(REPO, "checks", "**", "*.toml"), recursive=True)):
        with open(path, "rb") as f:
            corpora["check"].add(f.read(), rel(path))

    os.makedirs(os.path.join(FUZZ, "dict"), exist_ok=True)
    with open(os.path.join(FUZZ, "dict", "arm.dict"), "w", encoding="utf-8") as f:
        f.write("# Generated by fuzz/seed.py: the JSON keys and short strings of the seeds.\n")
        for word in sorted(dictionary):
            if len(json.dumps(word, ensure_ascii=True)) > 60:  # libFuzzer's limit is 64 bytes
                continue
            f.write(json.dumps(json.dumps(word, ensure_ascii=True)) + "\n")

    for target, corpus in corpora.items():
        print(f"{target}: {len(corpus)} seeds in {rel(corpus.dir)}")
    print(f"dictionary: {len(dictionary)} entries in fuzz/dict/arm.dict")


if __name__ == "__main__":
    sys.exit(main())
