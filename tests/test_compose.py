"""compose.yaml cannot run here (no Docker engine), so check what can be checked: it parses, has
every service the stack needs, and every command is a real entry point of this project."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.support import BIN, REPO

SERVICES = {"postgres", "redis", "migrate", "worker", "beat", "flower", "api", "metrics"}


def _compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def test_compose_has_every_service_with_health_and_auth():
    services = _compose()["services"]
    assert SERVICES <= set(services)
    assert "noeviction" in services["redis"]["command"]
    for name in ("postgres", "redis", "worker", "api"):
        assert "healthcheck" in services[name], name
    assert any(arg.startswith("--basic-auth=") for arg in services["flower"]["command"])
    assert services["worker"].get("deploy", {}).get("replicas") is None  # scalable with --scale


LONG_RUNNING = SERVICES - {"migrate"}


def test_compose_works_from_a_fresh_clone_with_one_password_source():
    compose = _compose()
    services = compose["services"]
    # .env is optional: every setting has a default; only the passwords must be set, each once.
    for name, service in services.items():
        for entry in service.get("env_file", []):
            assert isinstance(entry, dict) and entry["required"] is False, (name, entry)
    example = (REPO / ".env.example").read_text()
    passwords = re.findall(r"^([A-Z_]*PASSWORD)=", example, re.M)
    assert {"POSTGRES_PASSWORD", "TALLY_OWNER_PASSWORD", "TALLY_APP_PASSWORD"} <= set(passwords)
    assert len(passwords) == len(set(passwords))
    assert not re.search(r"^[A-Z_]+=\w+://[^/@\s]+:[^@\s]+@", example, re.M), "a URL in .env.example repeats a password"
    # the URLs are built from the passwords
    assert "tally_app:${TALLY_APP_PASSWORD:?" in services["worker"]["environment"]["DATABASE_URL"]
    assert "tally_owner:${TALLY_OWNER_PASSWORD:?" in services["migrate"]["environment"]["DATABASE_URL"]
    # the README's steps in the order a person runs them
    readme = (REPO / "README.md").read_text()
    assert readme.index("cp .env.example .env") < readme.index("docker compose up")


def test_every_long_running_service_has_a_healthcheck():
    services = _compose()["services"]
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"], name


def test_metrics_port_is_the_cli_default():
    help_text = subprocess.run([str(BIN / "tally"), "metrics", "--help"], capture_output=True, text=True).stdout
    default = re.search(r"\(default (\d+)\)", help_text.split("--port", 1)[1])[1]
    metrics = _compose()["services"]["metrics"]
    assert metrics["command"][metrics["command"].index("--port") + 1] == default
    assert metrics["ports"] == [f"127.0.0.1:{default}:{default}"]


def test_flower_lists_readable_arguments_and_results():
    command = _compose()["services"]["flower"]["command"]
    columns = next(a for a in command if a.startswith("--tasks_columns=")).split("=", 1)[1].split(",")
    assert {"name", "args", "state", "result", "worker"} <= set(columns)
    assert "--tasks_columns=" in (REPO / "README.md").read_text()


def test_every_service_command_is_a_real_entry_point(tmp_path):
    env = {"PATH": str(BIN), "TALLY_HOME": str(tmp_path)}
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command is None or name in ("postgres", "redis"):
            continue
        program, *args = command
        if program == "tally":
            # the subcommand exists: `--help` parses it without touching any server
            sub = [a for a in args if not a.startswith("-")][:2]
            result = subprocess.run([str(BIN / "tally"), *sub[:1], "--help"], env=env, capture_output=True, text=True)
        elif program == "celery":
            assert args[:2] == ["-A", "worker.app"], name
            result = subprocess.run([str(BIN / "celery"), "-A", "worker.app", args[2], "--help"],
                                    env=env, capture_output=True, text=True, cwd=REPO)
        else:
            raise AssertionError(f"{name}: unexpected program {program}")
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_env_example_documents_every_setting():
    text = (REPO / ".env.example").read_text()
    settings = (REPO / "worker" / "settings.py").read_text()
    for name in set(re.findall(r'"((?:TALLY|CELERY|DATABASE)_[A-Z_]+)"', settings)) - {"TALLY_HOME"}:
        assert f"{name}=" in text, name



def test_secrets_come_from_the_environment_only():
    services = _compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    flower_auth = next(a for a in services["flower"]["command"] if a.startswith("--basic-auth="))
    assert flower_auth.startswith("--basic-auth=${FLOWER_BASIC_AUTH:?set FLOWER_BASIC_AUTH in .env")
    # No password or token literal in the project's code: credentials are read from the environment.
    pattern = re.compile(r"(password|secret|token)\s*=\s*['\"][^'\"]{6,}['\"]", re.I)
    for path in REPO.glob("*/**/*.py"):
        if path.parts[len(REPO.parts)] in ("tests", ".venv", ".ci-venv", "bench"):
            continue
        assert not pattern.search(path.read_text()), path
