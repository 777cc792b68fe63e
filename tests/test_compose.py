"""``docker-compose.temporal.yml`` describes the production shape consistently (the test
machines have no Docker engine, so its structure is what is checked): the services,
and environment variables that point at each other."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from evergraph.adapter.process.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping"
    return {k: str(v) for k, v in env.items()}


def _ports(service: dict) -> dict[int, int]:
    """container port -> host port"""
    out = {}
    for mapping in service.get("ports", []):
        host, _, container = str(mapping).rpartition(":")
        out[int(container)] = int(host)
    return out


def test_services_and_dependencies(compose):
    services = compose["services"]
    assert set(services) == {
        "postgresql", "redis", "temporal", "temporal-ui", "evergraph-api", "evergraph-worker",
        "otel-collector", "jaeger", "prometheus",  # observability: tests/test_metrics.py checks them
    }
    for name, service in services.items():
        deps = service.get("depends_on") or []
        for dep in deps:
            assert dep in services, f"{name} depends on unknown service {dep}"
        if isinstance(deps, dict):
            for dep, cond in deps.items():
                if cond["condition"] == "service_healthy":
                    assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health, which has no check"
    assert services["evergraph-api"]["command"] == ["evergraph", "serve"]
    assert services["evergraph-worker"]["command"] == ["evergraph", "worker"]
    for name in ("evergraph-api", "evergraph-worker"):
        assert services[name]["build"] == "."
        assert set(services[name]["depends_on"]) == {"postgresql", "redis", "temporal"}
    assert (ROOT / "Dockerfile").is_file()
    for volume in (v.split(":")[0] for s in services.values() for v in s.get("volumes", [])):
        if volume.startswith("./"):  # a file of this repository, mounted
            assert (ROOT / volume).is_file(), f"missing {volume}"
            continue
        assert volume in compose["volumes"], f"undeclared volume {volume}"


def test_environment_variables_reference_each_other(compose):
    s = compose["services"]
    pg, temporal, ui = _env(s["postgresql"]), _env(s["temporal"]), _env(s["temporal-ui"])
    # Temporal runs on the compose Postgres with its superuser
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgresql"
    assert (temporal["POSTGRES_USER"], temporal["POSTGRES_PWD"]) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert temporal["DB_PORT"] == "5432"
    frontend = f"temporal:{next(iter(_ports(s['temporal'])))}"
    assert frontend == "temporal:7233"
    assert ui["TEMPORAL_ADDRESS"] == frontend
    assert ui["TEMPORAL_CORS_ORIGINS"].endswith(f":{_ports(s['temporal-ui'])[8080]}")

    api, worker = _env(s["evergraph-api"]), _env(s["evergraph-worker"])
    shared = {k: v for k, v in api.items() if k not in ("EVERGRAPH_HOST", "EVERGRAPH_PORT")}
    assert shared == worker, "API and worker must see the same Temporal, database, broker and graphs"
    assert api["TEMPORAL_ADDRESS"] == frontend

    db = urlsplit(api["EVERGRAPH_DATABASE_URI"])
    assert db.scheme == "postgresql"
    assert (db.hostname, db.port) == ("postgresql", 5432)
    assert (db.username, db.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert db.path == f"/{pg['POSTGRES_DB']}"

    redis = urlsplit(api["EVERGRAPH_REDIS_URI"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)

    # the API listens on every interface, on the published port
    assert api["EVERGRAPH_HOST"] == "0.0.0.0"
    assert _ports(s["evergraph-api"]) == {int(api["EVERGRAPH_PORT"]): int(api["EVERGRAPH_PORT"])}

    # the graphs file exists in the image (the Dockerfile copies examples/ to /app/examples)
    config = Path(api["EVERGRAPH_CONFIG"])
    assert config.is_relative_to("/app") and (ROOT / config.relative_to("/app")).is_file()


def test_evergraph_environment_is_valid_and_documented(compose):
    readme = (ROOT / "README.md").read_text()
    for name in ("evergraph-api", "evergraph-worker"):
        env = _env(compose["services"][name])
        settings = Settings.from_env(env)  # raises SettingsError on a bad value
        assert settings.uses_postgres and settings.redis_uri == env["EVERGRAPH_REDIS_URI"]
        assert settings.temporal_address == env["TEMPORAL_ADDRESS"]
        for var in env:
            assert f"`{var}`" in readme, f"{var} is not in README's settings table"


def test_the_image_installs_the_wheel_not_the_source_tree():
    """The Dockerfile builds the project's wheel in one stage and installs only that
    wheel in the image it runs (as users install Evergraph); the image's /app holds
    the example graphs the compose file serves."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert len(stages) == 2
    build, final = lines[stages[0]:stages[1]], lines[stages[1]:]
    assert any(line.startswith("RUN pip wheel") and "--no-deps" in line for line in build)
    assert any(line.startswith("COPY --from=") for line in final)
    assert any(line.startswith("RUN pip install") and ".whl" in line for line in final)
    assert "COPY . ." not in final and "COPY . /app" not in final
    assert "COPY examples/ /app/examples/" in final
    assert final[-1] == 'CMD ["evergraph", "serve"]'
