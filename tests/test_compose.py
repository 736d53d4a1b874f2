"""compose.yaml cannot run here (no Docker engine), so check what can be checked: it parses, has
every service the stack needs, and every command is a real entry point of this project."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import BIN, REPO

SERVICES = {"postgres", "redis", "migrate", "worker", "beat", "flower", "api", "metrics"}


def _compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def test_compose_has_every_service_with_health_and_auth():
    services = _compose()["services"]
    assert SERVICES <= set(services)
    redis = services["redis"]["command"]
    assert "noeviction" in redis
    # issue 29: without a maxmemory, noeviction never refuses anything and Redis grows until the host runs out
    assert redis[redis.index("--maxmemory") + 1] == "${TALLY_REDIS_MAXMEMORY:-256mb}"
    assert "TALLY_REDIS_MAXMEMORY=256mb" in (REPO / ".env.example").read_text()
    for name in ("postgres", "redis", "worker", "api"):
        assert "healthcheck" in services[name], name
    assert any("--basic-auth=" in arg for arg in services["flower"]["entrypoint"])
    assert services["worker"].get("deploy", {}).get("replicas") is None  # scalable with --scale


LONG_RUNNING = SERVICES - {"migrate"}


def test_compose_works_from_a_fresh_clone_with_nothing_set():
    text = (REPO / "compose.yaml").read_text()
    services = _compose()["services"]
    # .env is optional and nothing must be set: no ${VAR:?...} anywhere stops `docker compose up`
    assert ":?" not in text
    for name, service in services.items():
        for entry in service.get("env_file", []):
            assert isinstance(entry, dict) and entry["required"] is False, (name, entry)
    # the passwords come from the secrets volume, written before anything that reads them starts
    assert services["postgres"]["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in services.items():
        if "DATABASE_URL" in service.get("environment", {}):
            env = service["environment"]
            assert urlsplit(env["DATABASE_URL"]).password is None, name
            assert env["TALLY_DB_PASSWORD_FILE"].startswith("/run/tally-secrets/"), name
            assert "secrets:/run/tally-secrets:ro" in service["volumes"], name
    example = (REPO / ".env.example").read_text()
    assert not re.search(r"^[A-Z_]*PASSWORD=.", example, re.M), "a password value in .env.example"
    assert not re.search(r"^[A-Z_]+=\w+://[^/@\s]+:[^@\s]+@", example, re.M), "a URL in .env.example holds a password"
    # the operations guide's steps in the order a person runs them, with no step before `up`
    readme = (REPO / "docs" / "operations.md").read_text()
    assert readme.index("docker compose up") < readme.index("cp .env.example .env")


def _run_init_secrets(directory, **env):
    script = (REPO / "deploy" / "init-secrets.sh").read_text().replace("/run/tally-secrets", str(directory))
    subprocess.run(["sh", "-c", script], env={"PATH": "/usr/bin:/bin", **env}, check=True)
    return {p.name: p.read_text() for p in directory.iterdir()}


def test_init_secrets_writes_each_password_once(tmp_path):
    first = _run_init_secrets(tmp_path, TALLY_APP_PASSWORD="chosen in .env")
    assert set(first) == {"postgres", "owner", "app", "rabbitmq", "flower"}
    assert first["app"] == "chosen in .env"
    generated = [first[name] for name in ("postgres", "owner", "rabbitmq", "flower")]
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in generated)
    assert len(set(generated)) == 4
    # read by the stack's containers, whose users differ; written by none
    assert all(oct(p.stat().st_mode & 0o777) == "0o444" for p in tmp_path.iterdir())
    # a second start (or a password set in .env later) never changes them: the servers keep theirs
    again = _run_init_secrets(tmp_path, TALLY_APP_PASSWORD="changed", POSTGRES_PASSWORD="changed")
    assert again == first


def test_a_password_file_completes_the_urls(tmp_path, pg_url, monkeypatch):
    from sqlalchemy import create_engine, make_url, text

    from config.settings import load_settings

    secret = tmp_path / "app"
    secret.write_text("p@ss/wo:rd%\n")
    url = make_url(pg_url)
    monkeypatch.setenv("DATABASE_URL", url.set(password=None).render_as_string(hide_password=False))
    monkeypatch.setenv("TALLY_DB_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://tally@rabbitmq:5672//")
    monkeypatch.setenv("TALLY_BROKER_PASSWORD_FILE", str(secret))
    settings = load_settings()
    assert make_url(settings.database_url).password == "p@ss/wo:rd%"
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:  # the URL still names the right server, user and database
        assert connection.execute(text("select current_database()")).scalar() == url.database
    engine.dispose()
    from kombu.utils.url import url_to_parts

    assert url_to_parts(settings.broker_url).password == "p@ss/wo:rd%"
    # a URL without a user (Redis without ACLs) is left as it is; a missing file is a clear error
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis:6379/0")
    assert load_settings().broker_url == "redis://redis:6379/0"
    monkeypatch.setenv("TALLY_DB_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="TALLY_DB_PASSWORD_FILE: cannot read"):
        load_settings()


def test_dockerfile_copies_every_installed_package():
    include = re.search(r"^include = \[(.*)\]", (REPO / "pyproject.toml").read_text(), re.M)[1]
    packages = {name.strip(' "*') for name in include.split(",")}
    copied = set(re.findall(r"^COPY (\w+) \1$", (REPO / "Dockerfile").read_text(), re.M))
    assert copied == packages


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
    assert "--tasks_columns=" in (REPO / "docs" / "operations.md").read_text()


@pytest.mark.slow
def test_every_service_command_is_a_real_entry_point(tmp_path):
    env = {"PATH": str(BIN), "TALLY_HOME": str(tmp_path)}
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command is None or "build" not in service:  # a stock image: its own entry point
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
    settings = (REPO / "config" / "settings.py").read_text()
    for name in set(re.findall(r'"((?:TALLY|CELERY|DATABASE)_[A-Z_]+)"', settings)) - {"TALLY_HOME"}:
        assert f"{name}=" in text, name



def test_secrets_are_written_nowhere_but_the_secrets_volume():
    services = _compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/tally-secrets/postgres"
    assert "$$(cat /run/tally-secrets/flower)" in " ".join(services["flower"]["entrypoint"])
    assert "$$(cat /run/tally-secrets/rabbitmq)" in " ".join(services["rabbitmq"]["command"])
    roles = (REPO / "deploy" / "postgres-roles.sh").read_text()
    assert "$(cat /run/tally-secrets/owner)" in roles and "$(cat /run/tally-secrets/app)" in roles
    # No password or token literal in the project's code: credentials are read from the environment.
    pattern = re.compile(r"(password|secret|token)\s*=\s*['\"][^'\"]{6,}['\"]", re.I)
    for path in REPO.glob("*/**/*.py"):
        if path.parts[len(REPO.parts)] in ("tests", ".venv", ".ci-venv", "bench"):
            continue
        assert not pattern.search(path.read_text()), path
