"""The Helm chart: lint, render with several value sets, validate, and check its promises."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploytools import (
    CHART,
    KUBERNETES_VERSIONS,
    REPO,
    YAMLLINT_CONFIG,
    find_tool,
    run_tool,
)

from service.config import Settings, load_settings

Render = Callable[..., tuple[str, list[dict[str, Any]]]]
Helm = Callable[..., subprocess.CompletedProcess[str]]

DATA_DIR = "/home/agentx/.agentx"
SECRET_SETTINGS = {"LLM_PROVIDER_KEY", "JWT_SECRET"}

#: Value sets the chart is rendered and validated with (besides the defaults).
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "existing-secret": [
        "secrets.existingSecret=portagent-keys",
        "secrets.llmProviderKeyKey=anthropic",
        "secrets.jwtSecretKey=signing",
    ],
    "key-from-values": ["secrets.llmProviderKey=sk-ant-chart-value-0123456789abcdef"],
    "ingress": [
        "ingress.enabled=true",
        "ingress.className=nginx",
        "ingress.hosts[0].host=chat.example.com",
        "ingress.hosts[0].paths[0].path=/",
        "ingress.tls[0].secretName=chat-tls",
        "ingress.tls[0].hosts[0]=chat.example.com",
    ],
    "no-persistence": ["persistence.enabled=false"],
    "existing-claim": ["persistence.existingClaim=portagent-data-old"],
    "demo-base-path": [
        "config.llmProvider=demo",
        "config.basePath=/portagent",
        "service.type=NodePort",
        "serviceAccount.create=false",
    ],
}


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = by_kind(docs, "Deployment")
    return found


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = deployment(docs)["spec"]["template"]["spec"]["containers"]
    return found


def env_of(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container(docs)["env"]}


# --- Lint and validation ---------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_lint_strict(helm: Helm, variant: str) -> None:
    args = ["lint", "--strict", str(CHART)]
    for item in VARIANTS[variant]:
        args += ["--set", item]
    result = helm(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_manifests_match_kubernetes_schemas(
    render: Render, variant: str, tmp_path: Path
) -> None:
    validator = find_tool("kubernetes-validate")
    text, docs = render(*VARIANTS[variant])
    assert docs, "nothing rendered"
    manifest = tmp_path / f"{variant}.yaml"
    manifest.write_text(text)
    for version in KUBERNETES_VERSIONS:
        result = run_tool([validator, "--strict", "--quiet", "-k", version, str(manifest)])
        assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_rejects_an_unknown_field(render: Render, tmp_path: Path) -> None:
    """The validator really is strict: a misspelt field in the Deployment fails it."""
    validator = find_tool("kubernetes-validate")
    _, docs = render()
    broken = deployment(docs)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(yaml.safe_dump(broken))
    result = run_tool([validator, "--strict", "--quiet", "-k", KUBERNETES_VERSIONS[0], manifest])
    assert result.returncode != 0
    assert "imagePullPolcy" in result.stdout + result.stderr


@pytest.mark.parametrize("variant", ["default", "ingress", "existing-secret"])
def test_yamllint_on_chart_files_and_renders(render: Render, variant: str, tmp_path: Path) -> None:
    yamllint = find_tool("yamllint")
    text, _ = render(*VARIANTS[variant])
    manifest = tmp_path / "render.yaml"
    manifest.write_text(text)
    files = [CHART / "Chart.yaml", CHART / "values.yaml", manifest]
    result = run_tool([yamllint, "--strict", "-c", str(YAMLLINT_CONFIG), *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_more_than_one_replica_is_refused(helm: Helm) -> None:
    result = helm("template", "pa", str(CHART), "--set", "replicaCount=2")
    assert result.returncode != 0
    assert "replicaCount must be 0 or 1" in result.stderr
    assert "SQLite" in result.stderr


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("config.logLevel=loud", "config.logLevel"),
        ("config.agentSandbox=docker", "config.agentSandbox"),
        ("config.bcryptRounds=40", "config.bcryptRounds"),
        ("config.basePath=no-slash", "config.basePath"),
        ("secrets.jwtSecret=short", "secrets.jwtSecret"),
        ("config.typo=1", "typo"),
    ],
)
def test_values_schema_rejects_bad_values(helm: Helm, setting: str, complaint: str) -> None:
    result = helm("template", "pa", str(CHART), "--set", setting)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_values_schema_is_a_valid_json_schema() -> None:
    checker = find_tool("check-jsonschema")
    result = run_tool(
        [checker, "--schemafile", str(CHART / "values.schema.json"), str(CHART / "values.yaml")]
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- What the manifests promise --------------------------------------------------------


def test_pod_runs_hardened_as_uid_1001(render: Render) -> None:
    _, docs = render()
    pod = deployment(docs)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1001
    assert pod["securityContext"]["runAsGroup"] == 1001
    assert pod["securityContext"]["fsGroup"] == 1001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container(docs)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"] for mount in container(docs)["volumeMounts"]}
    assert "/tmp" in mounts, "a read-only root needs a writable /tmp"


def test_one_replica_replaced_with_recreate(render: Render) -> None:
    _, docs = render()
    assert deployment(docs)["spec"]["replicas"] == 1
    assert deployment(docs)["spec"]["strategy"] == {"type": "Recreate"}


def test_probes_use_health_and_readyz_on_the_http_port(render: Render) -> None:
    _, docs = render()
    main = container(docs)
    assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["ports"] == [{"name": "http", "containerPort": 5200, "protocol": "TCP"}]


def test_probes_follow_the_base_path(render: Render) -> None:
    _, docs = render("config.basePath=/portagent/")
    main = container(docs)
    assert main["livenessProbe"]["httpGet"]["path"] == "/portagent/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/portagent/readyz"
    assert env_of(docs)["BASE_PATH"]["value"] == "/portagent/"


def test_service_is_http_on_5200(render: Render) -> None:
    _, docs = render()
    (service,) = by_kind(docs, "Service")
    (port,) = service["spec"]["ports"]
    assert port == {"port": 5200, "targetPort": "http", "protocol": "TCP", "name": "http"}
    assert service["spec"]["selector"] == deployment(docs)["spec"]["selector"]["matchLabels"]


def test_data_directory_on_the_created_claim(render: Render) -> None:
    _, docs = render()
    (claim,) = by_kind(docs, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts["data"] == DATA_DIR
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert env_of(docs)["DATA_DIR"]["value"] == DATA_DIR


def test_existing_claim_is_mounted_and_none_created(render: Render) -> None:
    _, docs = render(*VARIANTS["existing-claim"])
    assert by_kind(docs, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "portagent-data-old"


def test_storage_class_dash_means_no_class(render: Render) -> None:
    _, docs = render("persistence.storageClass=-")
    (claim,) = by_kind(docs, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == ""
    _, docs = render("persistence.storageClass=fast-ssd")
    (claim,) = by_kind(docs, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "fast-ssd"


def test_without_persistence_the_data_dir_is_an_empty_dir(render: Render) -> None:
    _, docs = render(*VARIANTS["no-persistence"])
    assert by_kind(docs, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


def test_secrets_come_from_secret_refs_never_inline(render: Render) -> None:
    key = "sk-ant-chart-value-0123456789abcdef"
    text, docs = render(f"secrets.llmProviderKey={key}")
    env = env_of(docs)
    for name in SECRET_SETTINGS:
        assert "value" not in env[name], f"{name} is inline"
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "pa-portagent"
    (secret,) = by_kind(docs, "Secret")
    assert base64.b64decode(secret["data"]["LLM_PROVIDER_KEY"]).decode() == key
    jwt = base64.b64decode(secret["data"]["JWT_SECRET"]).decode()
    assert len(jwt) >= 32
    # The key is in the Secret only: not in the Deployment or anywhere else.
    assert text.count(base64.b64encode(key.encode()).decode()) == 1
    assert key not in text


def test_existing_secret_is_referenced_with_its_key_names(render: Render) -> None:
    _, docs = render(*VARIANTS["existing-secret"])
    assert by_kind(docs, "Secret") == []
    env = env_of(docs)
    assert env["LLM_PROVIDER_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "portagent-keys",
        "key": "anthropic",
        "optional": False,
    }
    assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "portagent-keys",
        "key": "signing",
        "optional": True,
    }
    annotations = deployment(docs)["spec"]["template"]["metadata"]["annotations"] or {}
    assert "checksum/secret" not in annotations


def test_jwt_secret_is_generated_and_kept_across_upgrades(render: Render) -> None:
    """Without a cluster `lookup` finds nothing, so each render generates a fresh secret; on
    an upgrade the template reads the existing Secret first (checked in its source)."""
    first = base64.b64decode(by_kind(render()[1], "Secret")[0]["data"]["JWT_SECRET"])
    second = base64.b64decode(by_kind(render()[1], "Secret")[0]["data"]["JWT_SECRET"])
    assert len(first) == 64 and first != second
    source = (CHART / "templates" / "secret.yaml").read_text()
    assert re.search(r'lookup "v1" "Secret" \.Release\.Namespace \$name', source)
    given = "j" * 40
    (secret,) = by_kind(render(f"secrets.jwtSecret={given}")[1], "Secret")
    assert base64.b64decode(secret["data"]["JWT_SECRET"]).decode() == given


def test_every_server_setting_is_a_chart_value(render: Render) -> None:
    _, docs = render()
    env = env_of(docs)
    settings = {field.alias for field in Settings.model_fields.values() if field.alias}
    rendered = set(env)
    # AGENT_SYSTEM_PROMPT is left out while empty (the server's default prompt applies).
    missing = settings - rendered - {"AGENT_SYSTEM_PROMPT", "CORS_ORIGINS", "TRUSTED_PROXIES"}
    missing -= {"BASE_PATH", "LLM_PROVIDER_KEY"}  # empty by default / no key given
    assert not missing, f"settings the chart cannot set: {sorted(missing)}"
    _, docs = render(
        "config.agentSystemPrompt=Be brief",
        "config.corsOrigins={https://a.example.com,https://b.example.com}",
        "config.trustedProxies={10.0.0.0/8}",
        "config.basePath=/pa",
        "secrets.llmProviderKey=sk-ant-x-0123456789abcdef",
    )
    assert settings <= set(env_of(docs))


def test_chart_defaults_equal_the_servers_defaults(render: Render, tmp_path: Path) -> None:
    """The chart's values pass the server's own validation and change no default."""
    _, docs = render()
    plain = {name: item["value"] for name, item in env_of(docs).items() if "value" in item}
    from_chart = load_settings(environ=plain, overrides={"LLM_PROVIDER": "demo"}, cwd=tmp_path)
    defaults = load_settings(
        environ={"DATA_DIR": DATA_DIR}, overrides={"LLM_PROVIDER": "demo"}, cwd=tmp_path
    )
    assert from_chart.model_dump() == defaults.model_dump()


def test_changed_values_reach_the_server_settings(render: Render, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "config:\n"
        "  agentTools: [bash]\n"
        "  llmTimeout: 1.5\n"
        "  agentContextTokens: 1000000\n"
        "  inviteCodeRequired: false\n"
        "  corsOrigins: [https://a.example.com, https://b.example.com]\n"
        "  logLevel: debug\n"
    )
    _, docs = render(values=values)
    plain = {name: item["value"] for name, item in env_of(docs).items() if "value" in item}
    settings = load_settings(environ=plain, overrides={"LLM_PROVIDER": "demo"}, cwd=tmp_path)
    assert settings.agent_tools == ["bash"]
    assert settings.llm_timeout == 1.5
    assert settings.agent_context_tokens == 1_000_000
    assert settings.invite_code_required is False
    assert settings.cors_origins == ["https://a.example.com", "https://b.example.com"]
    assert settings.log_level == "debug"


def test_extra_env_is_appended(render: Render) -> None:
    _, docs = render("extraEnv[0].name=TZ", "extraEnv[0].value=Europe/Berlin")
    assert env_of(docs)["TZ"] == {"name": "TZ", "value": "Europe/Berlin"}


def test_ingress_routes_hosts_to_the_http_service(render: Render, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        'ingress:\n  annotations:\n    nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"\n'
    )
    _, docs = render(*VARIANTS["ingress"], values=values)
    (ingress,) = by_kind(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["chat.example.com"], "secretName": "chat-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "chat.example.com"
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": "pa-portagent", "port": {"number": 5200}}
    annotation = "nginx.ingress.kubernetes.io/proxy-read-timeout"
    assert ingress["metadata"]["annotations"][annotation] == "3600"


def test_image_tag_defaults_to_app_version_which_is_the_package_version(render: Render) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    package = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert chart["appVersion"] == package == chart["version"]
    _, docs = render()
    assert container(docs)["image"].endswith(f":{package}")
    _, docs = render("image.tag=1.2.3", "image.repository=registry.example.com/pa")
    assert container(docs)["image"] == "registry.example.com/pa:1.2.3"


def test_helm_test_pod_calls_health(render: Render) -> None:
    _, docs = render()
    (pod,) = by_kind(docs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = " ".join(pod["spec"]["containers"][0]["command"])
    assert "http://pa-portagent:5200/health" in command
    assert pod["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] is True


def render_notes(helm: Helm, tmp_path: Path, *set_args: str) -> str:
    """NOTES.txt as `helm install` would print it.

    `helm template` leaves NOTES.txt out and `helm install --dry-run` needs a cluster, so a
    copy of the chart gets one more template that holds the rendered notes in a ConfigMap.
    """
    chart = tmp_path / "portagent"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
        '  notes: {{ include "portagent/templates/NOTES.txt" . | quote }}\n'
    )
    args = ["template", "pa", str(chart), "--namespace", "apps"]
    args += ["--show-only", "templates/zz-notes.yaml"]
    for item in set_args:
        args += ["--set", item]
    result = helm(*args)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["data"]["notes"]


def test_notes_explain_access_invite_code_and_websockets(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(helm, tmp_path, "config.basePath=/portagent")
    assert "port-forward svc/pa-portagent 5200:5200" in notes
    assert "http://127.0.0.1:5200/portagent/" in notes
    assert "date -d 'today 00:00:01' +%s" in notes
    assert "portagent invite create" in notes
    assert "nginx.ingress.kubernetes.io/proxy-read-timeout" in notes
    assert "Traefik" in notes
    assert "WARNING: no API key is configured" in notes


def test_notes_with_ingress_and_a_key(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(
        helm, tmp_path, *VARIANTS["ingress"], *VARIANTS["key-from-values"],
        "config.inviteCodeRequired=false",
    )  # fmt: skip
    assert "https://chat.example.com/" in notes
    assert "port-forward" not in notes
    assert "WARNING: no API key" not in notes
    assert "Registration is open" in notes


def test_chart_readme_documents_every_value() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, re.MULTILINE))

    def leaves(node: Any, prefix: str = "") -> list[str]:
        if isinstance(node, dict) and node and prefix not in OPAQUE:
            return [leaf for k, v in node.items() for leaf in leaves(v, f"{prefix}{k}.")]
        return [prefix.rstrip(".")]

    missing = [key for key in leaves(values) if key not in documented]
    assert not missing, f"values missing from charts/portagent/README.md: {missing}"
    unknown = [key for key in documented if key not in leaves(values)]
    assert not unknown, f"README documents values that do not exist: {unknown}"


#: Values documented as one whole object rather than key by key.
OPAQUE = {
    "podSecurityContext.",
    "securityContext.",
    "resources.",
    "livenessProbe.",
    "readinessProbe.",
}


def test_schema_covers_every_config_value() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(schema["properties"]["config"]["properties"]) == set(values["config"])
    assert set(values) <= set(schema["properties"])
