"""The compose file, checked offline (no Docker engine here): it validates with
Debian's docker-compose, every service has a real health check, workers can
scale, nothing internal is published, and every image runs a real command."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from musicalface.cli import build_parser
from tests.conftest import REPO

ENV = {**os.environ, "POSTGRES_PASSWORD": "test-only"}
PUBLISHED = {"capture": "8000", "lyrics": "8001"}
INTERNAL = ("redis", "postgres", "tfserving")


@pytest.fixture(scope="module")
def compose():
    exe = shutil.which("docker-compose")
    if not exe:
        pytest.skip("*** docker-compose is not installed (apt-get install docker-compose): compose file NOT validated")
    p = subprocess.run([exe, "config"], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return yaml.safe_load(p.stdout)


def test_needs_the_postgres_password_from_the_env_file():
    exe = shutil.which("docker-compose") or pytest.skip("*** docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    p = subprocess.run([exe, "config", "-q"], cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode != 0 and "POSTGRES_PASSWORD" in p.stderr


def test_all_services_are_there(compose):
    assert set(compose["services"]) == {"redis", "postgres", "tfserving", "lyrics", "capture", "emotion", "player"}


def test_every_service_has_a_health_check_and_starts_on_health(compose):
    for name, svc in compose["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD", f"{name} has no exec health check"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert cond["condition"] == "service_healthy", f"{name} waits for {dep} to start, not to be healthy"


def test_workers_can_scale(compose):
    emotion = compose["services"]["emotion"]
    assert "container_name" not in emotion and "ports" not in emotion


def test_only_capture_and_lyrics_are_published(compose):
    for name, svc in compose["services"].items():
        ports = {str(p["target"]) if isinstance(p, dict) else str(p).split(":")[-1] for p in svc.get("ports", [])}
        assert ports == ({PUBLISHED[name]} if name in PUBLISHED else set()), name


def test_redis_and_postgres_keep_their_data_on_volumes(compose):
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"] and any("/data" in str(v) for v in redis["volumes"])
    assert any("/var/lib/postgresql/data" in str(v) for v in compose["services"]["postgres"]["volumes"])


def test_tf_serving_serves_both_committed_models_with_batching_and_warmup(compose):
    cmd = " ".join(compose["services"]["tfserving"]["command"])
    assert "--enable_batching=true" in cmd and "--enable_model_warmup=true" in cmd
    config = (REPO / "deploy/tfserving/models.config").read_text()
    for name in ("emotion", "lyrics"):
        assert f'base_path: "/models/{name}"' in config
        versions = [p for p in (REPO / "models" / name).iterdir() if p.name.isdigit()]
        assert versions and all((v / "saved_model.pb").exists() for v in versions)
    assert "latest" in config  # a new version folder is picked up by polling, no restart


def real_command(argv: list[str]) -> bool:
    if argv[0] != "musicalface":
        return False
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit:
        return False
    return True


def dockerfile_cmd(path: Path) -> list[str]:
    import json

    m = re.search(r"^CMD (\[.*\])$", path.read_text(), re.M)
    assert m, f"{path} has no exec-form CMD"
    return json.loads(m.group(1))


@pytest.mark.parametrize("role", ["capture", "emotion", "lyrics", "player"])
def test_images_are_pinned_non_root_and_run_a_real_command(role, compose):
    path = REPO / "deploy" / f"{role}.Dockerfile"
    text = path.read_text()
    base = re.search(r"^FROM (\S+)", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest")
    assert re.search(r"^USER (?!root)\S+", text, re.M)
    assert real_command(dockerfile_cmd(path)), dockerfile_cmd(path)
    svc = compose["services"][role]
    assert svc["build"]["dockerfile"].endswith(f"{role}.Dockerfile")
    probe = svc["healthcheck"]["test"][1:]
    assert probe[0] != "musicalface" or real_command(probe), probe


def test_tensorflow_only_where_needed():
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for role in ("capture", "player"):
        assert not any("tensorflow" in d or "musicalface[tf" in d for d in extras[role]), role
        assert f'".[{role}]"' in (REPO / "deploy" / f"{role}.Dockerfile").read_text()


def test_secrets_stay_out_of_git_and_the_example_names_every_variable():
    ignored = subprocess.run(["git", "check-ignore", ".env", "deploy/secrets/token.json"], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert ignored == [".env", "deploy/secrets/token.json"]
    used = set(re.findall(r"\$\{(\w+)", (REPO / "docker-compose.yml").read_text()))
    example = set(re.findall(r"^(\w+)=", (REPO / ".env.example").read_text(), re.M))
    assert used <= example, used - example
    for spec in (".env", "deploy/secrets", ".git"):
        assert spec in (REPO / ".dockerignore").read_text().split()
