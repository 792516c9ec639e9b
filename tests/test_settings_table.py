"""Each setting is declared once (k8s_lab/config.py SETTINGS); what describes the settings
elsewhere is generated from that table and held to it here."""

import dataclasses

import yaml

from conftest import ROOT
from k8s_lab import config


def test_pulumi_yaml_declares_exactly_the_tables_settings():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    assert declared == config.pulumi_yaml_config(), "regenerate: python -m k8s_lab.config --pulumi-yaml"
    assert "idePassword" not in declared  # a declared secret without a default would be required


def test_readme_shows_exactly_the_tables_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config.readme_table() in readme, "regenerate: python -m k8s_lab.config --readme"


def test_every_field_of_lab_config_comes_from_one_setting():
    fields = {f.name for f in dataclasses.fields(config.LabConfig)}
    from_table = [s.field for s in config.SETTINGS]
    assert len(from_table) == len(set(from_table)) and len(config.KEYS) == len(set(config.KEYS))
    assert fields - set(from_table) == {"ide_env_secret"}  # whether ideEnv was set as a secret
    assert set(from_table) <= fields


def test_each_default_is_a_value_its_own_parser_accepts():
    for setting in config.SETTINGS:
        default = setting.yaml_default()
        if default in ("", None, []) or setting.type == "array":
            continue
        text = str(default).lower() if isinstance(default, bool) else str(default)
        assert setting.parse(text) == setting.default, setting.key


def test_each_setting_tells_a_fix_and_a_description():
    for setting in config.SETTINGS:
        assert setting.description.endswith(".") and len(setting.fix) > 10, setting.key


def test_a_new_setting_needs_one_entry(monkeypatch):
    """Adding a setting is one table entry plus its LabConfig field: the validator, Pulumi.yaml
    and README follow (shown with a made-up setting)."""
    extra = config.Setting("probe", "timezone", "string", "UTC", "A made-up setting.", "set it right", config.time_zone)
    monkeypatch.setattr(config, "SETTINGS", tuple(s for s in config.SETTINGS if s.key != "timezone") + (extra,))
    monkeypatch.setattr(config, "KEYS", tuple(s.key for s in config.SETTINGS))
    monkeypatch.setattr(config, "BY_KEY", {s.key: s for s in config.SETTINGS})
    parsed = config.parse_lab_config({"workspaceRoot": "/l", "probe": "Europe/Berlin"}, stack="kim")
    assert parsed.timezone == "Europe/Berlin"
    assert "probe" in config.pulumi_yaml_config() and "| `probe` | `UTC` | A made-up setting. |" in config.readme_table()


def test_the_generator_prints_exactly_the_committed_pulumi_yaml_config(capsys):
    """`python -m k8s_lab.config --pulumi-yaml`, in-process: its output is Pulumi.yaml's
    `config:` section as committed, to the character."""
    assert config.main(["--pulumi-yaml"]) == 0
    out, err = capsys.readouterr()
    committed = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    assert out.startswith("config:\n  student:\n") and committed.endswith("\n" + out) and err == ""


def test_the_generator_prints_exactly_the_readme_table(capsys):
    assert config.main(["--readme"]) == 0
    out, err = capsys.readouterr()
    assert out == config.readme_table() and out in (ROOT / "README.md").read_text(encoding="utf-8") and err == ""


def test_the_generator_refuses_anything_else_with_its_usage(capsys, monkeypatch):
    for wrong in ([], ["--readme", "--pulumi-yaml"], ["--yaml"]):
        assert config.main(wrong) == 2
        out, err = capsys.readouterr()
        assert out == "" and err == "usage: python -m k8s_lab.config --readme | --pulumi-yaml\n"
    monkeypatch.setattr(config.sys, "argv", ["config.py", "--readme"])
    assert config.main() == 0 and capsys.readouterr().out == config.readme_table()


def test_the_generated_pulumi_yaml_keeps_non_ascii_text_readable(capsys, monkeypatch):
    """A description in another language is written as itself, not as \\u escapes."""
    monkeypatch.setattr(config, "pulumi_yaml_config", lambda: {"probe": {"type": "string", "description": "학생 이름 (é)"}})
    assert config.main(["--pulumi-yaml"]) == 0
    assert capsys.readouterr().out == "config:\n  probe:\n    type: string\n    description: 학생 이름 (é)\n"
