"""Profiles resolve, secrets stay out of sight, bad input says what to do."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iglu_lib.config import ConfigError, load_profile, read_yaml


def test_every_profile_loads_with_hit_settings():
    for name in ("local", "sandbox", "production"):
        profile = load_profile(name, env={}, **({"stack_state": {}} if name == "local" else {}))
        assert profile.hit.reward
        assert profile.hit.lifetime_seconds > 0
        assert profile.storage.records_table
    assert not load_profile("production", env={}).spend_money


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown profile 'prod'.*production"):
        load_profile("prod")


def test_missing_secret_names_variable_and_profile():
    profile = load_profile("sandbox", env={})
    with pytest.raises(ConfigError, match="profile 'sandbox' needs AWS_ACCESS_KEY_ID"):
        profile.backend.aws_credentials()
    with pytest.raises(ConfigError, match="IGLU_WORKER_ID_SALT"):
        profile.backend.worker_id_salt()


def test_malformed_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [unclosed\nc: 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+"):
        read_yaml(bad)


def test_secrets_are_read_from_dotenv_and_masked_in_show(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "params" / "profiles").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    from iglu_lib.paths import params_dir

    (root / "params" / "profiles" / "sandbox.yaml").write_text((params_dir() / "profiles" / "sandbox.yaml").read_text())
    secret = "AKIA" + "Z" * 16
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={secret}\nAWS_SECRET_ACCESS_KEY=very-secret-value-123\n")
    monkeypatch.setenv("IGLU_PROJECT_ROOT", str(root))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    profile = load_profile("sandbox")
    assert profile.backend.aws_credentials()["aws_access_key_id"] == secret
    assert secret not in repr(profile)
    shown = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "config", "show", "--profile", "sandbox"],
                           capture_output=True, text=True, cwd=root, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "AWS_ACCESS_KEY_ID" in shown.stdout
    assert secret not in shown.stdout and "very-secret-value-123" not in shown.stdout


def test_secret_in_a_profile_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "params" / "profiles").mkdir(parents=True)
    (root / "params" / "profiles" / "leaky.yaml").write_text("aws_secret_access_key: abc\n")
    monkeypatch.setenv("IGLU_PROJECT_ROOT", str(root))
    with pytest.raises(ConfigError, match="secrets do not belong in profiles"):
        load_profile("leaky")


def test_cli_errors_are_one_line_and_non_zero():
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "config", "show", "--profile", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown profile 'nope'" in result.stderr


def test_import_stays_light_and_help_answers():
    code = (
        "import sys, iglu_lib, iglu_lib.cli, iglu_lib.config; iglu_lib.cli.build_parser();"
        "heavy = [m for m in ('boto3', 'azure', 'pandas', 'matplotlib', 'papermill', 'numpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
