"""The Kubernetes deployment, proven without a cluster (issue 20, section 4 a-b).

deploy/helm/values.yaml is read as Helm reads it (YAML anchors resolved); what the chart does
with it is translated from the chart's templates at 1.13.27 (`_helpers.tpl`
`dagsterYaml.runLauncher.k8s`, `dagsterYaml.concurrency`, `configmap-instance.yaml`): the
instance config every pod loads, and in it the run launcher's config. From that config the
real `K8sRunLauncher` of dagster-k8s launches a run of `archive_day`; its Kubernetes API is the
one seam stubbed (it records the Job instead of sending it). The Job is then checked, and every
manifest under deploy/ and the rendered Job are validated against Kubernetes' own schemas
(kubernetes-validate, offline, strict: an unknown field fails).
"""

import re
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster._config import process_config
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.test_utils import create_run_for_test
from dagster_k8s import K8sRunLauncher

from lse_assets.core.partition import Partition

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
RELEASE, NAMESPACE = "lse", "lse"
FULLNAME = f"{RELEASE}-dagster"  # the chart's `dagster.fullname` for release `lse`
DAGSTER_HOME = "/opt/dagster/dagster_home"  # the chart's global.dagsterHome default
PG_SECRET = "dagster-postgresql-secret"  # the chart's global.postgresqlSecretName default
# What may only reach a pod by reference: the variables and the key file.
SECRET_VARIABLES = {"LANGSMITH_API_KEY", "LSE_DATABASE_URL", "LSE_ALERT_WEBHOOK_URL"}
SECRET_NAME_PATTERN = re.compile(r"KEY|PASSWORD|TOKEN|SECRET|WEBHOOK|DATABASE_URL|CREDENTIAL")
# Shapes of real secrets: LangSmith keys, a URL with a password, a Slack hook, a key file.
SECRET_LITERALS = [
    re.compile(r"lsv2_(pt|sk)_[0-9a-f]"),
    re.compile(r"[a-z+]+://[^:/@\s\"']+:[^@\s\"'$]+@"),
    re.compile(r"hooks\.slack\.com/services/[A-Z0-9]"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\"private_key\"\s*:"),
]


def _manifests() -> list[tuple[Path, dict]]:
    """Every Kubernetes object in a YAML file under deploy/ (Helm values and Dagster's
    instance files are configuration, not objects)."""
    found = []
    for path in sorted(DEPLOY.rglob("*.y*ml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and {"apiVersion", "kind"} <= set(document):
                found.append((path, document))
    return found


def _manifest(kind: str, name: str) -> dict:
    matches = [m for _, m in _manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name} under deploy/kubernetes"
    return matches[0]


def _image(image: dict) -> str:
    return f"{image['repository']}:{image['tag']}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def chart_run_launcher_config(values: dict) -> dict:
    """`dagsterYaml.runLauncher.k8s` of the chart: the K8sRunLauncher block of dagster.yaml."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": FULLNAME,
        "dagster_home": DAGSTER_HOME,
        "instance_config_map": f"{FULLNAME}-instance",
        "postgres_password_secret": PG_SECRET,
    }
    if "image" in launcher:
        config["job_image"] = _image(launcher["image"])
    if launcher.get("envConfigMaps"):
        config["env_config_maps"] = [c["name"] for c in launcher["envConfigMaps"] if "name" in c]
    if launcher.get("envSecrets"):
        config["env_secrets"] = [s["name"] for s in launcher["envSecrets"] if "name" in s]
    for key in ("envVars", "volumeMounts", "volumes", "labels", "resources", "securityContext"):
        if launcher.get(key):
            config[_snake(key)] = launcher[key]
    if launcher.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if launcher.get("runK8sConfig"):
        config["run_k8s_config"] = {_snake(k): v for k, v in launcher["runK8sConfig"].items() if v}
    return config


def chart_instance_config(values: dict) -> dict:
    """The parts of the chart's instance ConfigMap (`dagster.yaml` of every pod) set here."""
    concurrency = values["concurrency"]
    pools, runs = concurrency["pools"], concurrency["runs"]
    daemon = values["dagsterDaemon"]
    monitoring, retries = (daemon[k] for k in ("runMonitoring", "runRetries"))
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    backfills = daemon["backfills"]
    postgres = values["postgresql"]
    storage = {
        "postgres_db": {
            "username": postgres["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": postgres["postgresqlHost"],
            "db_name": postgres["postgresqlDatabase"],
            "port": postgres["service"]["port"],
        }
    }
    return {
        "run_storage": {
            "module": "dagster_postgres.run_storage",
            "class": "PostgresRunStorage",
            "config": storage,
        },
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": storage,
        },
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": storage,
        },
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": chart_run_launcher_config(values),
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "dequeue_interval_seconds": queue["dequeueIntervalSeconds"],
                "dequeue_use_threads": queue["dequeueUseThreads"],
                "dequeue_num_workers": queue["dequeueNumWorkers"],
            },
        },
        "backfills": {
            "use_threads": backfills["useThreads"],
            "num_workers": backfills["numWorkers"],
            "num_submit_workers": backfills["numSubmitWorkers"],
        },
        "concurrency": {
            "pools": {
                "default_limit": pools["defaultLimit"],
                "granularity": pools["granularity"],
                "op_granularity_run_buffer": pools["opGranularityRunBuffer"],
            },
            "runs": {
                "max_concurrent_runs": runs["maxConcurrentRuns"],
                "tag_concurrency_limits": runs["tagConcurrencyLimits"],
            },
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "run_retries": {
            "enabled": retries["enabled"],
            "max_retries": retries["maxRetries"],
            "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"],
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


class _RecordingBatchApi:
    """The Kubernetes API seam: keeps the Job K8sRunLauncher would create."""

    def __init__(self) -> None:
        self.created: list[tuple[str, Any]] = []

    def create_namespaced_job(self, body, namespace, **_kwargs):
        self.created.append((namespace, body))
        return body


def _code_server_container_context(deployment: dict) -> dict | None:
    """What the chart hands runs from the code server (`dagsterUserDeployments.k8sContainerContext`,
    the parts set here) when includeConfigInLaunchedRuns is on; merged over the launcher's."""
    if not deployment.get("includeConfigInLaunchedRuns", {"enabled": True})["enabled"]:
        return None
    return {
        "k8s": {
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "env_config_maps": [c["name"] for c in deployment.get("envConfigMaps", [])],
            "env_secrets": [s["name"] for s in deployment.get("envSecrets", [])],
            "volumes": deployment.get("volumes", []),
            "volume_mounts": deployment.get("volumeMounts", []),
            "resources": deployment.get("resources", {}),
            "namespace": NAMESPACE,
        }
    }


@pytest.fixture(scope="module")
def run_job(tmp_path_factory) -> dict:
    """The Job that K8sRunLauncher creates for a run of archive_day, as Kubernetes gets it."""
    config = chart_run_launcher_config(VALUES)
    processed = process_config(K8sRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    # Only how the launcher reaches the API differs from the cluster: no in-cluster config
    # here, a kubeconfig of a server nothing listens on (never called: the API is recorded).
    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    batch_api = _RecordingBatchApi()
    launcher = K8sRunLauncher(
        **{**processed.value, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)},
        k8s_client_batch_api=batch_api,
        k8s_client_core_api=object(),
    )
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    # The code server announces its image (DAGSTER_CURRENT_IMAGE, set by the chart) and, with
    # includeConfigInLaunchedRuns off, no container context.
    origin = JobPythonOrigin(
        "archive_day",
        RepositoryPythonOrigin(
            executable_path="/usr/local/bin/python",
            code_pointer=ModuleCodePointer("lse_assets.definitions", "defs", None),
            container_image=_image(deployment["image"]),
            container_context=_code_server_container_context(deployment),
        ),
    )
    partition = Partition("default", date(2025, 9, 13))
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        run = create_run_for_test(
            instance, job_name="archive_day", tags=partition.run_tags, job_code_origin=origin
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    assert [namespace for namespace, _ in batch_api.created] == [NAMESPACE]
    return kubernetes.client.ApiClient().sanitize_for_serialization(batch_api.created[0][1])


def _container(job: dict) -> dict:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def _lse_home() -> str:
    return _manifest("ConfigMap", "lse-config")["data"]["LSE_HOME"]


def _archive_mounts(pod_spec_volumes: list[dict], mounts: list[dict]) -> list[str]:
    """Mount paths of volumes backed by the archive PVC, which must be ReadWriteMany."""
    claim = _manifest("PersistentVolumeClaim", "lse-archive")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    archive = {
        v["name"]
        for v in pod_spec_volumes
        if v.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"]
    }
    return [m["mountPath"] for m in mounts if m["name"] in archive]


def test_the_run_pod_runs_archive_day_in_the_configured_image_and_resources(run_job):
    container = _container(run_job)
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    assert container["image"] == _image(deployment["image"]) == _image(launcher["image"])
    assert container["resources"] == launcher["resources"]
    assert container["args"][1:5] == ["-m", "dagster", "api", "execute_run"]
    assert run_job["metadata"]["labels"]["dagster/job"] == "archive_day"
    assert run_job["spec"]["backoffLimit"] == 0
    # The code server serves lse_assets.definitions; the migration Job runs the same image.
    assert deployment["codeServerArgs"][:2] == ["-m", "lse_assets.definitions"]
    (upgrade,) = _manifest("Job", "lse-db-upgrade")["spec"]["template"]["spec"]["containers"]
    assert upgrade["image"] == container["image"]


def test_the_archive_volume_is_mounted_at_lse_home_in_run_pods_and_the_code_server(run_job):
    lse_home = _lse_home()
    assert f"LSE_HOME={lse_home}" in (ROOT / "Dockerfile").read_text()  # the image agrees
    pod = run_job["spec"]["template"]["spec"]
    assert _archive_mounts(pod["volumes"], _container(run_job)["volumeMounts"]) == [lse_home]
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    assert _archive_mounts(deployment["volumes"], deployment["volumeMounts"]) == [lse_home]


def test_every_secret_reaches_the_run_pod_by_reference(run_job):
    container, pod = _container(run_job), run_job["spec"]["template"]["spec"]
    secret_refs = {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    assert secret_refs == {"lse-secrets"}
    assert set(_manifest("Secret", "lse-secrets")["stringData"]) == SECRET_VARIABLES
    # No variable that names a secret carries a value of its own.
    for variable in container["env"]:
        if SECRET_NAME_PATTERN.search(variable["name"]):
            assert "value" not in variable and "secretKeyRef" in variable["valueFrom"], variable
    pg = next(e for e in container["env"] if e["name"] == "DAGSTER_PG_PASSWORD")
    assert pg["valueFrom"]["secretKeyRef"] == {"name": PG_SECRET, "key": "postgresql-password"}
    # The Google key file: a Secret volume, read-only, where GOOGLE_APPLICATION_CREDENTIALS points.
    (google,) = [v for v in pod["volumes"] if "secret" in v]
    assert google["secret"]["secretName"] == "lse-google-credentials"
    mount = next(m for m in container["volumeMounts"] if m["name"] == google["name"])
    assert mount["readOnly"] is True
    key_file = _manifest("ConfigMap", "lse-config")["data"]["GOOGLE_APPLICATION_CREDENTIALS"]
    (key_name,) = _manifest("Secret", "lse-google-credentials")["stringData"]
    assert key_file == f"{mount['mountPath']}/{key_name}"
    # The plain configuration carries none of them.
    config_keys = set(_manifest("ConfigMap", "lse-config")["data"])
    assert {"LSE_PROJECTS", "LSE_START_DATE", "LSE_PARQUET_URL"} <= config_keys
    assert not config_keys & SECRET_VARIABLES
    assert {e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e} == {
        "lse-config"
    }


def test_no_secret_literal_under_deploy():
    for path, manifest in _manifests():
        if manifest["kind"] == "Secret":
            values = {**manifest.get("data", {}), **manifest.get("stringData", {})}
            assert set(values.values()) <= {""}, f"{path}: {manifest['metadata']['name']}"
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        text = path.read_text()
        for pattern in SECRET_LITERALS:
            assert not pattern.search(text), f"{path}: {pattern.pattern}"
    # The chart would otherwise render its own Secret from a password in the values.
    assert VALUES["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in VALUES["postgresql"]


def test_the_secret_scan_finds_a_planted_literal():
    """The scan above is not vacuous: each shape it looks for is found when present."""
    planted = [
        "LANGSMITH_API_KEY: lsv2_pt_0123456789abcdef",
        "LSE_DATABASE_URL: postgresql://lse:hunter2@db:5432/lse",
        "url: https://hooks.slack.com/services/T000/B000/XXXX",
        "-----BEGIN PRIVATE KEY-----",
        '{"private_key": "x"}',
    ]
    assert all(any(p.search(line) for p in SECRET_LITERALS) for line in planted)
    assert not any(p.search("postgres_url: {env: DAGSTER_POSTGRES_URL}") for p in SECRET_LITERALS)


def test_the_instance_has_the_run_queue_limits_of_deploy_dagster_yaml(tmp_path):
    instance = chart_instance_config(VALUES)
    # Dagster itself accepts the instance config the chart renders (and with it the run
    # launcher's config, checked by dagster-k8s's own schema).
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    loaded, _ = dagster_instance_config(str(tmp_path))
    assert loaded["run_launcher"]["class"] == "K8sRunLauncher"

    compose = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert instance["concurrency"] == compose["concurrency"]
    assert instance["run_coordinator"] == compose["run_coordinator"]
    assert instance["backfills"] == compose["backfills"]
    assert instance["run_retries"] == compose["run_retries"]
    assert compose["run_monitoring"].items() <= instance["run_monitoring"].items()
    # A lost pod's claimed pool slots are freed (0 would leave them claimed).
    assert instance["run_monitoring"]["free_slots_after_run_end_seconds"] > 0


def _validate(manifest: dict, where: str, version: str) -> None:
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{where}: {error.path}: {error.message}")


KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()


def test_every_manifest_under_deploy_is_a_valid_kubernetes_object():
    manifests = _manifests()
    assert {m["kind"] for _, m in manifests} >= {
        "PersistentVolumeClaim",
        "ConfigMap",
        "Secret",
        "Job",
    }
    for path, manifest in manifests:
        _validate(manifest, f"{path.relative_to(ROOT)} {manifest['kind']}", KUBERNETES_VERSION)


def test_the_rendered_run_job_is_a_valid_kubernetes_object(run_job):
    _validate(run_job, "K8sRunLauncher's Job for archive_day", KUBERNETES_VERSION)


def test_validation_rejects_an_unknown_field(run_job):
    """strict mode is on: a misspelt field (here in the pod spec) is an error, not ignored."""
    broken = {**run_job, "spec": {**run_job["spec"], "backofLimit": 0}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
