"""The one place that reads Pulumi config: raw values in, a validated LabConfig out."""

from __future__ import annotations

import os
import sys

import pulumi
from pulumi.runtime import config as runtime_config

from k8s_lab import commands
from k8s_lab.config import KEYS, LabConfig, parse_lab_config


def check_interpreter() -> None:
    """Before any resource: the commands need `python` on the providers' PATH. A preview
    only warns (a PR runner never runs them); an update stops with the fix."""
    problem = commands.interpreter_problem(os.environ.get("PATH", ""), sys.executable)
    if problem and pulumi.runtime.is_dry_run():
        pulumi.log.warn(problem)
    elif problem:
        raise RuntimeError(f"k8s-lab: {problem}")


def read_lab_config() -> LabConfig:
    project = pulumi.get_project()
    prefix = f"{project}:"
    config = pulumi.Config()
    set_keys = {
        key[len(prefix) :]
        for key in {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
        if key.startswith(prefix)
    }
    raw = {key: config.get(key) for key in sorted(set(KEYS) | set_keys)}
    lab = parse_lab_config(
        raw,
        stack=pulumi.get_stack(),
        password_is_secret=pulumi.runtime.is_config_secret(f"{prefix}idePassword"),
        ide_env_secret=pulumi.runtime.is_config_secret(f"{prefix}ideEnv"),
        tls_key_is_secret=pulumi.runtime.is_config_secret(f"{prefix}ideTlsKey"),
    )
    check_interpreter()
    return lab
