"""A cluster made anew, stopped, or reached through a mirror: what the engine and the
providers do with the program's resources (tests/readback_model.py), and the commands'
Python environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from k8s_lab import versions
from golden_record import STACKS
from lab_mocks import evaluate
from readback_model import cluster_objects_after_remake, create_of_an_object_dropped_from_state

COMMAND = "command:local:Command"
DEFAULTS = {"workspaceRoot": "/home/kim/k8s-lab"}


def cluster_followers(lab):
    identity = lab.one(COMMAND, "cluster-kubeconfig").inputs["triggers"]
    return [r for r in lab.by_type(COMMAND) if r.inputs.get("triggers") == identity]


@pytest.mark.parametrize("row", sorted(versions.ROWS))
def test_the_way_in_is_still_applied_after_the_cluster_is_made_anew(row):
    """A Docker reset, then plain `pulumi up --refresh`: the manifest command is replaced;
    its old `--remove` must not run after the new apply, against the new cluster (ingress-nginx
    on 1.29; the Gateway API's files on 1.36)."""
    lab = evaluate({**DEFAULTS, "kubernetesVersion": row}, stack="kim", preview=True)
    manifest = lab.one(COMMAND, "ingress-manifest")
    assert manifest in cluster_followers(lab)
    assert cluster_objects_after_remake(cluster_followers(lab)) == {m.url for m in versions.ROWS[row].manifests}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_objects_a_refresh_dropped_while_the_cluster_was_stopped_are_adopted_when_it_runs(name):
    stack, config = STACKS[name]
    lab = evaluate(config, stack=stack, preview=True, secret_keys=("idePassword",) if "idePassword" in config else ())
    for provider in lab.by_type("pulumi:providers:kubernetes"):
        assert create_of_an_object_dropped_from_state(provider.inputs) != "AlreadyExists", provider.urn


@pytest.mark.parametrize("row", sorted(versions.ROWS))
def test_ingress_waits_for_the_mirror_so_its_first_pulls_use_the_cache(row):
    lab = evaluate({**DEFAULTS, "registryMirror": "http://teacher:5000", "kubernetesVersion": row}, stack="kim", preview=True)
    manifest = lab.one(COMMAND, "ingress-manifest")
    mirrors = [r for r in lab.by_type(COMMAND) if r.name.startswith("cluster-mirror-")]
    assert mirrors and all(lab.depends_on(manifest, each) for each in mirrors)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_command_runs_its_python_with_pythonsafepath_off(name):
    stack, config = STACKS[name]
    lab = evaluate(config, stack=stack, preview=True, secret_keys=("idePassword",) if "idePassword" in config else ())
    for command in lab.by_type(COMMAND):
        assert (command.inputs.get("environment") or {}).get("PYTHONSAFEPATH") == "", command.name


def test_pythonsafepath_off_in_the_environment_lets_python_m_find_the_project():
    """What pulumi-command does: the provider's environment, then the command's on top
    (pulumi-command local/commandOutputs.go run: os.Environ(), then Environment)."""
    argv = [sys.executable, "-m", "k8s_lab.kind_lifecycle", "--help"]
    inherited = {**os.environ, "PYTHONSAFEPATH": "1"}
    broken = subprocess.run(argv, cwd=ROOT, env=inherited, capture_output=True, text=True)
    assert broken.returncode != 0 and "No module named" in broken.stderr  # the defect, as a student meets it
    fixed = subprocess.run(argv, cwd=ROOT, env={**inherited, "PYTHONSAFEPATH": ""}, capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stderr
