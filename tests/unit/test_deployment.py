"""The Dockerfile and deploy/k8s/ as far as this machine can check them (no Docker, no cluster):
structure, the Kubernetes schemas (kubernetes-validate, strict), and that both name only what the
code has — CLI commands, CONSENTD_* variables, ports, the image's user."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from consentd.cli.parser import parser

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest cluster the manifests support: native gRPC probes (1.27) and preStop sleep (1.30).
KUBERNETES = ("1.30", "1.37")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def _commands() -> set[str]:
    action = next(a for a in parser()._actions if a.dest == "command")
    assert action.choices is not None
    return set(action.choices)


def _variables() -> set[str]:
    """The environment variables Settings.from_env reads."""
    source = (ROOT / "service" / "consentd" / "config.py").read_text()
    return set(re.findall(r'"((?:CONSENTD_[A-Z_]+)|DATABASE_URL)"', source))


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for op, args in stage:
        if op == "ENV":
            pairs.update(item.split("=", 1) for item in args.split())
    return pairs


def _image_user() -> str:
    return next(args for op, args in _final_stage() if op == "USER")


def test_dockerfile_is_multi_stage_non_root_and_probes_itself() -> None:
    """Two stages, the final one copies the build's venv, runs as a numeric non-root user, has a
    HEALTHCHECK, no PostgreSQL, and its ENTRYPOINT/CMD/HEALTHCHECK name real CLI commands."""
    steps = _instructions()
    assert sum(op == "FROM" for op, _ in steps) >= 2
    final = _final_stage()
    assert any(op == "COPY" and args.startswith("--from=build") for op, args in final)
    user = _image_user()
    uid = user.split(":")[0]
    assert uid.isdigit(), user
    assert uid != "0", user
    assert not any(op == "RUN" and "postgres" in args.lower() for op, args in final)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = json.loads(next(a for op, a in final if op == "ENTRYPOINT"))
    assert entrypoint == ["consentd"]
    assert "consentd" in scripts
    cmd = json.loads(next(a for op, a in final if op == "CMD"))
    health = next(a for op, a in final if op == "HEALTHCHECK")
    probe = json.loads(health.split("CMD", 1)[1])
    assert cmd[0] in _commands()
    assert probe[0] == "consentd"
    assert probe[1] in _commands()


def test_dockerfile_sets_only_real_variables_and_no_embedded_database() -> None:
    """Every CONSENTD_* the image sets is read by Settings.from_env; the embedded PostgreSQL is
    off (DATABASE_URL required); the exposed ports are the listen addresses' ports (gRPC, browsers,
    metrics)."""
    env = _env(_final_stage())
    ours = {k for k in env if k.startswith("CONSENTD_")}
    assert ours <= _variables(), ours - _variables()
    assert env["CONSENTD_EMBEDDED_POSTGRES"] == "false"
    assert env["CONSENTD_MIGRATE_ON_START"] == "false"
    exposed = next(a for op, a in _final_stage() if op == "EXPOSE").split()
    listening = ("CONSENTD_GRPC_ADDRESS", "CONSENTD_HTTP_ADDRESS", "CONSENTD_METRICS_ADDRESS")
    ports = {env[k].rsplit(":", 1)[1] for k in listening}
    assert set(exposed) == ports


def _documents() -> dict[str, list[dict[str, Any]]]:
    """Every manifest of deploy/k8s by file (the kustomization's resources, the Secret
    template)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    names = [*kustomization["resources"], "secret.example.yaml"]
    listed = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(names) == listed, "a manifest is not in kustomization.yaml (or missing)"
    return {name: list(yaml.safe_load_all((K8S / name).read_text())) for name in names}


def _all() -> list[dict[str, Any]]:
    return [doc for docs in _documents().values() for doc in docs]


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _all() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: dict[str, Any] = spec["template"]
    return template


@pytest.mark.parametrize("version", KUBERNETES)
def test_manifests_match_the_kubernetes_schemas(version: str) -> None:
    """Each document validates (strict: no unknown field) against the schemas of the oldest
    supported and the newest Kubernetes that kubernetes-validate ships."""
    for name, docs in _documents().items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{name} {doc['kind']}/{doc['metadata']['name']}: {error.message}")


def test_selectors_select_the_servers_pods() -> None:
    """The Deployment's selector matches its pod labels, and the Services and the
    PodDisruptionBudget select exactly those pods; the HPA scales that Deployment."""
    deployment = _one("Deployment", "consentd")
    labels = _pod(deployment)["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    for service in (d for d in _all() if d["kind"] == "Service"):
        assert service["spec"]["selector"] == selector
    assert _one("PodDisruptionBudget", "consentd")["spec"]["selector"]["matchLabels"] == selector
    target = _one("HorizontalPodAutoscaler", "consentd")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "consentd")
    hpa = _one("HorizontalPodAutoscaler", "consentd")["spec"]
    pdb = _one("PodDisruptionBudget", "consentd")["spec"]
    assert hpa["minReplicas"] > pdb["minAvailable"], "the PDB would block every drain"


def test_servers_probe_grpc_health_and_are_locked_down() -> None:
    """Readiness, liveness and startup probes are native gRPC on the container's grpc port
    (the image's); the metrics port is declared and annotated for scraping; every container of
    every workload has requests and limits, runs as the image's non-root user with a read-only
    root filesystem and no privilege escalation."""
    deployment = _one("Deployment", "consentd")
    (server,) = _pod(deployment)["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    assert ports == {"grpc": 50051, "http": 8080, "metrics": 9464}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["metrics"])
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert server[probe]["grpc"]["port"] == ports["grpc"], probe
    uid = int(_image_user().split(":")[0])
    for doc in _all():
        if doc["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        pod = _pod(doc)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            where = f"{doc['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert "memory" in container["resources"]["limits"], where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where


def test_commands_images_and_environment_are_the_codes() -> None:
    """Containers use the image's ENTRYPOINT (args only) with a real command; the image name is
    the kustomization's; every envFrom resolves to a ConfigMap or Secret here whose keys are
    variables Settings.from_env reads; only the Job and the CronJob get the owner's URL."""
    images = {i["name"] for i in yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"]}
    sources = {
        (d["kind"], d["metadata"]["name"]): {**d.get("data", {}), **d.get("stringData", {})}
        for d in _all()
        if d["kind"] in ("ConfigMap", "Secret")
    }
    for keys in sources.values():
        assert set(keys) <= _variables(), set(keys) - _variables()
    owner_key = "CONSENTD_MIGRATION_DATABASE_URL"
    expected = {"Deployment": "serve", "Job": "migrate", "CronJob": "retention"}
    for doc in (d for d in _all() if d["kind"] in expected):
        (container,) = _pod(doc)["spec"]["containers"]
        assert "command" not in container
        assert container["image"] in images
        assert container["args"][0] == expected[doc["kind"]] in _commands()
        given: set[str] = set()
        for source in container["envFrom"]:
            kind = "ConfigMap" if "configMapRef" in source else "Secret"
            ref = source["configMapRef" if kind == "ConfigMap" else "secretRef"]["name"]
            assert (kind, ref) in sources, f"{kind} {ref} is not defined"
            given |= set(sources[(kind, ref)])
        assert (owner_key in given) is (doc["kind"] != "Deployment"), doc["metadata"]["name"]
        if doc["kind"] != "Job":
            required = {"DATABASE_URL", "CONSENTD_SECRET_KEY", "CONSENTD_AUDIT_SIGNING_KEY"}
            assert required <= given, doc["metadata"]["name"]
    deployment_env = sources[("ConfigMap", "consentd")]
    assert deployment_env["CONSENTD_PURGE_INTERVAL_SECONDS"] == "0"  # the CronJob purges
