#!/usr/bin/env python3
"""CI checks of the Helm chart, offline (no cluster, no helm binary): the official Helm SDK
through helm-python-sdk, Kubernetes schemas from kubernetes-validate.

Usage: check_chart.py CHART_DIR

1. `helm lint` finds no errors with the default, cluster and everything-enabled values;
2. each of those renders, and every rendered object validates against the Kubernetes
   schemas of 1.30 and of the latest version kubernetes-validate ships (strict: unknown
   fields are errors); CRD objects (ServiceMonitor, PrometheusRule) are checked by shape;
3. what the chart promises holds in the rendered objects (modes, probes, security context,
   service links off, migrations in a hook Job, Ingress body size, ...);
4. values.schema.json rejects wrong types, unknown modes and keys, cluster mode without a
   database;
5. the generated key Secret survives an upgrade: Helm applies on upgrade the release's
   regular objects and its pre/post-upgrade hooks; the key Secret is neither (a pre-install
   hook with resource-policy keep), so an upgrade never re-renders or replaces it, while
   every regular object that names it names the same Secret in both renders.
6. every metric the dashboard and the alerts query is one the server registers (names
   found in server/src/), so a renamed metric cannot leave a panel empty;
"""

import base64
import copy
import json
import pathlib
import re
import sys

import helm_python
import kubernetes_validate
import yaml

CRD_GROUPS = ("monitoring.coreos.com/",)
KUBE_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"  FAIL {message}")


CLUSTER = {
    "mode": "cluster",
    "replicaCount": 3,
    "database": {"url": "postgres://sogs:secret@postgres:5432/sogs"},
    "redis": {"url": "redis://redis:6379"},
}

EVERYTHING = {
    **CLUSTER,
    "baseUrl": "https://sogs.example.net",
    "uploads": {"s3": {"enabled": True, "endpoint": "https://s3.example.net",
                       "bucket": "sogs", "region": "eu-1", "accessKey": "a", "secretKey": "b"}},
    "config": {"rooms": {"post_rate_limit": 10}, "filters": {"profanity": True}},
    "extraEnv": [{"name": "SOGS_LOG_LEVEL", "value": "debug"}],
    "ingress": {"enabled": True, "className": "nginx",
                "hosts": [{"host": "sogs.example.net", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                "tls": [{"secretName": "sogs-tls", "hosts": ["sogs.example.net"]}]},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
                "prometheusRule": {"enabled": True}, "dashboard": {"enabled": True}},
    "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6},
    "networkPolicy": {"enabled": True},
    "podAntiAffinity": "hard",
}

SINGLE_EVERYTHING = {
    "ingress": EVERYTHING["ingress"],
    "metrics": EVERYTHING["metrics"],
    "networkPolicy": {"enabled": True},
    "config": {"rooms": {"post_rate_limit": 10}},
}

EXISTING_SECRETS = {
    "mode": "cluster",
    "key": {"existingSecret": "my-sogs-key", "secretKey": "key"},
    "database": {"existingSecret": "pg", "existingSecretKey": "uri"},
    "redis": {"existingSecret": "redis", "existingSecretKey": "uri"},
    "uploads": {"s3": {"enabled": True, "endpoint": "https://s3", "bucket": "b", "existingSecret": "s3"}},
}

VALUE_SETS = {
    "default": {},
    "cluster": CLUSTER,
    "everything": EVERYTHING,
    "single-everything": SINGLE_EVERYTHING,
    "existing-secrets": EXISTING_SECRETS,
}

BAD_VALUES = {
    "an unknown mode": {"mode": "swarm"},
    "replicaCount as a string": {"replicaCount": "3"},
    "replicaCount 0": {"replicaCount": 0},
    "an unknown top-level key (typo)": {"replicas": 3},
    "an unknown nested key": {"image": {"repo": "x"}},
    "a non-URL baseUrl": {"baseUrl": "sogs.example.net"},
    "a MySQL database URL": {"database": {"url": "mysql://x"}},
    "cluster mode without a database": {"mode": "cluster", "redis": {"url": "redis://r"}},
    "cluster mode without Redis": {"mode": "cluster", "database": {"url": "postgres://d"}},
    "a string metrics port": {"metrics": {"port": "9090"}},
    "persistence.enabled as a string": {"persistence": {"enabled": "yes"}},
    "an unknown anti-affinity": {"podAntiAffinity": "sometimes"},
    "an unknown service type": {"service": {"type": "Ingress"}},
}


def objects(manifests):
    """Rendered objects (skipping empty documents and NOTES.txt), keyed by template."""
    out = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append((path, doc))
    return out


def find(objs, kind, suffix=""):
    return [o for _, o in objs if o["kind"] == kind and o["metadata"]["name"].endswith(suffix)]


def hooks(obj):
    value = obj["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    return {h.strip() for h in value.split(",") if h.strip()}


def pod_specs(objs):
    for _, o in objs:
        if o["kind"] == "Pod":
            yield o["metadata"]["name"], o["spec"]
        elif o["kind"] in ("Deployment", "Job"):
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def validate(name, objs):
    for path, obj in objs:
        what = f"{name}: {obj['kind']}/{obj['metadata']['name']} ({path})"
        if obj["apiVersion"].startswith(CRD_GROUPS):
            check("spec" in obj and obj["metadata"].get("name"), f"{what}: CRD object without spec")
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                check(False, f"{what} invalid for Kubernetes {version}: {e}")


def promises(name, values, objs):
    cluster = values.get("mode") == "cluster"
    deployments = find(objs, "Deployment")
    check(len(deployments) == 1, f"{name}: one Deployment")
    if not deployments:
        return
    dep = deployments[0]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    server = pod["containers"][0]
    env = env_of(server)
    if cluster:
        autoscaled = values.get("autoscaling", {}).get("enabled")
        check(autoscaled or spec["replicas"] == values.get("replicaCount", 2), f"{name}: replicas")
        check(spec["strategy"]["type"] == "RollingUpdate", f"{name}: cluster rolls")
        check(env.get("SOGS_DATABASE_MIGRATE_ON_START") == "false", f"{name}: replicas do not migrate")
        jobs = [j for j in find(objs, "Job", "-migrate")]
        check(len(jobs) == 1 and {"pre-install", "pre-upgrade"} <= hooks(jobs[0]),
              f"{name}: a pre-install/pre-upgrade migration Job")
        if jobs:
            check(jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"] == ["sogs-admin", "migrate"],
                  f"{name}: the Job runs sogs-admin migrate")
        check("SOGS_DATABASE_URL" in env and "SOGS_REDIS_URL" in env, f"{name}: PostgreSQL and Redis URLs")
        check(len(find(objs, "PodDisruptionBudget")) == 1, f"{name}: a PodDisruptionBudget")
        check("affinity" in pod and "topologySpreadConstraints" in pod, f"{name}: anti-affinity and spread")
        if values.get("autoscaling", {}).get("enabled"):
            check(len(find(objs, "HorizontalPodAutoscaler")) == 1 and "replicas" not in spec,
                  f"{name}: the HPA owns the replica count")
    else:
        check(spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", f"{name}: single is 1 replica, Recreate")
        pvcs = find(objs, "PersistentVolumeClaim")
        check(len(pvcs) == 1 and pvcs[0]["spec"]["accessModes"] == ["ReadWriteOnce"], f"{name}: a RWO data PVC")
        check("SOGS_DATABASE_URL" not in env, f"{name}: single mode uses SQLite")
    if not values.get("uploads", {}).get("s3", {}).get("enabled") and cluster:
        pvcs = find(objs, "PersistentVolumeClaim")
        check(len(pvcs) == 1 and pvcs[0]["spec"]["accessModes"] == ["ReadWriteMany"], f"{name}: a RWX uploads PVC")
    probes = {p: server[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")}
    check(probes == {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"},
          f"{name}: probes {probes}")
    for pod_name, pspec in pod_specs(objs):
        check(pspec.get("enableServiceLinks") is False, f"{name}: {pod_name} has service links off")
        psc = pspec["securityContext"]
        check(psc.get("runAsNonRoot") and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              f"{name}: {pod_name} pod security context")
        for c in pspec["containers"]:
            sc = c["securityContext"]
            check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
                  and sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: {pod_name} container security context")
            check("resources" in c, f"{name}: {pod_name} resources")
    check(env.get("SOGS_SERVER_KEY_FILE") == "/keys/key_x25519", f"{name}: key file from the Secret")
    key_volume = next(v for v in pod["volumes"] if v["name"] == "key")
    expected_secret = values.get("key", {}).get("existingSecret") or "sogs-key"
    check(key_volume["secret"]["secretName"] == expected_secret, f"{name}: key Secret {expected_secret}")
    for ing in find(objs, "Ingress"):
        check(ing["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/proxy-body-size") == "16m",
              f"{name}: Ingress body size")
    tests = [o for _, o in objs if o["kind"] == "Pod" and "test" in hooks(o)]
    check(len(tests) == 1 and any("/readyz" in a for a in tests[0]["spec"]["containers"][0]["args"]),
          f"{name}: a helm test pod checking /healthz and /readyz")
    if values.get("metrics", {}).get("prometheusRule", {}).get("enabled"):
        rules = find(objs, "PrometheusRule")[0]["spec"]["groups"][0]["rules"]
        alerts = {r["alert"] for r in rules}
        check({"SogsInstanceDown", "SogsRedisDown", "SogsHighErrorRate", "SogsDatabasePoolSaturated"} <= alerts,
              f"{name}: alerts {alerts}")
    if values.get("metrics", {}).get("dashboard", {}).get("enabled"):
        cm = find(objs, "ConfigMap", "-dashboard")[0]
        check('"sogs_redis_up' in cm["data"]["sogs.json"] or "sogs_redis_up" in cm["data"]["sogs.json"],
              f"{name}: the dashboard ConfigMap holds the dashboard")


def key_survives_upgrade(chart):
    install = objects(chart.render({}, name="sogs", namespace="community", revision=1, is_install=True))
    upgrade = objects(chart.render({}, name="sogs", namespace="community", revision=2, is_upgrade=True))
    secrets = [o for _, o in install if o["kind"] == "Secret" and o["metadata"]["name"] == "sogs-key"]
    check(len(secrets) == 1, "install renders the key Secret")
    if not secrets:
        return
    secret = secrets[0]
    check(len(base64.b64decode(secret["data"]["key_x25519"])) == 32, "the key is 32 raw bytes")
    annotations = secret["metadata"]["annotations"]
    check(hooks(secret) == {"pre-install"}, "the key Secret is a pre-install hook only")
    check(annotations.get("helm.sh/resource-policy") == "keep", "the key Secret is kept on uninstall")

    def applied_on_upgrade(objs):
        """What Helm applies on `helm upgrade`: regular objects and pre/post-upgrade hooks."""
        return [o for _, o in objs if not hooks(o) or hooks(o) & {"pre-upgrade", "post-upgrade"}]

    applied = applied_on_upgrade(upgrade)
    check(not any(o["kind"] == "Secret" and o["metadata"]["name"] == "sogs-key" for o in applied),
          "an upgrade does not apply (so cannot replace) the key Secret")

    def key_refs(objs):
        return sorted(v["secret"]["secretName"] for _, spec in pod_specs(objs)
                      for v in spec.get("volumes", []) if "secret" in v)

    check(key_refs(install) == key_refs(upgrade) == ["sogs-key"],
          "install and upgrade mount the same key Secret")
    # The same render twice would have made two keys: the hook is what keeps the first one.
    again = [o for _, o in objects(chart.render({}, name="sogs", namespace="community"))
             if o["kind"] == "Secret" and o["metadata"]["name"] == "sogs-key"][0]
    print(f"  (a second offline render makes another key: {again['data']['key_x25519'] != secret['data']['key_x25519']};"
          " Helm never applies it on upgrade)")
    existing = objects(chart.render(EXISTING_SECRETS, name="sogs", namespace="community"))
    check(not any(o["kind"] == "Secret" and o["metadata"]["name"].endswith("-key") for _, o in existing),
          "with key.existingSecret the chart makes no key")


def metric_names_in(text):
    names = set(re.findall(r"\bsogs_[a-z_]+", text))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def metrics_exist(chart, chart_dir):
    repo = pathlib.Path(chart_dir).resolve().parent.parent
    registered = set()
    for source in (repo / "server" / "src").rglob("*.rs"):
        registered |= set(re.findall(r'"(sogs_[a-z_]+)"', source.read_text()))
    check(len(registered) > 10, f"found the server's metrics ({len(registered)})")
    dashboard = (pathlib.Path(chart_dir) / "dashboards" / "sogs.json").read_text()
    json.loads(dashboard)
    rules = chart.render(EVERYTHING, name="sogs", namespace="community")["sogs/templates/prometheusrule.yaml"]
    for what, text in (("dashboard", dashboard), ("alerts", rules)):
        unknown = metric_names_in(text) - registered
        check(not unknown, f"the {what} queries metrics the server does not register: {sorted(unknown)}")
    # Compose's Prometheus and Grafana provisioning (same dashboard) parse.
    for f in ("docker/monitoring/prometheus.yml",
              "docker/monitoring/grafana/provisioning/datasources/prometheus.yaml",
              "docker/monitoring/grafana/provisioning/dashboards/sogs.yaml"):
        check(bool(yaml.safe_load((repo / f).read_text())), f"{f} parses")


def main():
    chart_dir = sys.argv[1]
    chart = helm_python.Chart.load(chart_dir)
    print(f"chart {chart.name} {chart.version}; Kubernetes schemas {', '.join(KUBE_VERSIONS)}")
    for name, values in VALUE_SETS.items():
        print(f"- {name}")
        report = helm_python.lint(chart_dir, copy.deepcopy(values), strict=False, namespace="community")
        errors = [m for m in report.get("messages", []) if m.get("severity", 0) >= 3] + report.get("errors", [])
        for m in report.get("messages", []):
            if m.get("severity", 0) == 2:
                print(f"  lint warning: {m.get('path')}: {m.get('error')}")
        check(not errors, f"{name}: helm lint errors {errors}")
        chart.validate_schema(copy.deepcopy(values))
        objs = objects(chart.render(copy.deepcopy(values), name="sogs", namespace="community"))
        print(f"  {len(objs)} objects: {', '.join(sorted({o['kind'] for _, o in objs}))}")
        validate(name, objs)
        promises(name, values, objs)
    print("- values.schema.json rejects bad values")
    for what, values in BAD_VALUES.items():
        try:
            chart.validate_schema(values)
        except helm_python.HelmError:
            continue
        check(False, f"the schema accepted {what}: {values}")
    print("- dashboard and alert metrics exist")
    metrics_exist(chart, chart_dir)
    print("- the key across an upgrade")
    key_survives_upgrade(chart)
    if failures:
        print(f"chart check: {len(failures)} failed")
        sys.exit(1)
    print("chart check: all passed")


if __name__ == "__main__":
    main()
