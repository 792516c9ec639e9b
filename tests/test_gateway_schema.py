"""The lab's own Gateway API objects (k8s_lab/gateway.py) against the schemas of the pinned
CRDs they are applied with (k8s_lab/versions.py): the Gateway against the Gateway API's
standard `gateways` CRD (v1.5.1), the NginxProxy against NGINX Gateway Fabric's (v2.6.7).

Two checks per object: JSON Schema validation of its `spec` (types, enums, required keys,
bounds), and that every field it sets is a field of the schema: the API server prunes an
unknown field without a word, so a misplaced `hostPorts` would leave the Gateway off the
slot's ports and nothing would say why.

The CRD files are what `lab.py up` applies: read from the manifest cache when `up` (or this
test) fetched them before, else fetched into a temporary folder, each checked against its
pinned sha256. Without network and without a cache the test skips, naming the URL.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import ROOT
from k8s_lab import gateway, kind_lifecycle, tools, versions

ROW = versions.ROWS["1.36"]


def pinned(name: str) -> versions.Manifest:
    return next(m for m in ROW.manifests if m.url.endswith(name))


def manifest_text(manifest: versions.Manifest, tmp_path: Path) -> str:
    for folder in (os.environ.get(kind_lifecycle.CACHE_DIR_ENV), ROOT / ".tools" / "cache"):
        cached = Path(folder) / f"{manifest.sha256}.yaml" if folder else None
        if cached and cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == manifest.sha256:
            return cached.read_text(encoding="utf-8")
    try:
        path = tools.download_verified(manifest.url, tmp_path / f"{manifest.sha256}.yaml", manifest.sha256, mode=0o644)
    except tools.FetchError as error:
        pytest.skip(f"{manifest.url} is neither cached nor reachable here ({error})")
    return path.read_text(encoding="utf-8")


def crd_schema(text: str, kind: str, version: str) -> dict[str, Any]:
    for document in yaml.safe_load_all(text):
        if document and document.get("kind") == "CustomResourceDefinition" and document["spec"]["names"]["kind"] == kind:
            served = {v["name"]: v for v in document["spec"]["versions"]}
            return served[version]["schema"]["openAPIV3Schema"]
    raise AssertionError(f"no CRD for {kind} in the pinned file")


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields of `value` the schema does not declare: what the API server would prune."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return []
        properties = schema.get("properties")
        if properties is None:
            extra = schema.get("additionalProperties")
            return [f for k, v in value.items() for f in unknown_fields(v, extra, f"{path}.{k}")] if isinstance(extra, dict) else []
        found = [f"{path}.{k}" for k in value if k not in properties]
        return found + [f for k, v in value.items() if k in properties for f in unknown_fields(v, properties[k], f"{path}.{k}")]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [f for i, item in enumerate(value) for f in unknown_fields(item, schema["items"], f"{path}[{i}]")]
    return []


CASES = [
    ("gateway.networking.k8s.io_gateways.yaml", "Gateway", "v1", gateway.gateway),
    ("crds.yaml", "NginxProxy", "v1alpha2", gateway.nginx_proxy),
]


@pytest.mark.parametrize("file, kind, version, build", CASES, ids=[case[1] for case in CASES])
def test_the_labs_object_is_valid_and_every_field_it_sets_is_kept(file, kind, version, build, tmp_path):
    obj = build()
    assert obj["kind"] == kind and obj["apiVersion"].endswith(f"/{version}")
    schema = crd_schema(manifest_text(pinned(file), tmp_path), kind, version)
    jsonschema.Draft7Validator(schema["properties"]["spec"]).validate(obj["spec"])
    assert unknown_fields(obj["spec"], schema["properties"]["spec"], "spec") == []


def test_the_checks_see_a_misplaced_field_and_a_wrong_value(tmp_path):
    """Guards against checking nothing: a hostPorts one level too high is pruned, and a
    listener protocol that is no protocol is refused."""
    proxy_schema = crd_schema(manifest_text(pinned("crds.yaml"), tmp_path), "NginxProxy", "v1alpha2")["properties"]["spec"]
    misplaced = gateway.nginx_proxy()["spec"]
    misplaced["kubernetes"]["deployment"]["hostPorts"] = misplaced["kubernetes"]["deployment"]["container"].pop("hostPorts")
    assert unknown_fields(misplaced, proxy_schema, "spec") == ["spec.kubernetes.deployment.hostPorts"]
    gateway_schema = crd_schema(manifest_text(pinned("gateways.yaml"), tmp_path), "Gateway", "v1")["properties"]["spec"]
    wrong = gateway.gateway()["spec"]
    wrong["listeners"][0]["port"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(gateway_schema).validate(wrong)
