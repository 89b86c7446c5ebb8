#!/usr/bin/env python3
"""Checks Kubernetes manifests against the Kubernetes API schema, offline.

The schema is the one the `kubernetes` Python client's models carry (pip install kubernetes):
every document is walked against its model class (apiVersion + kind → e.g. V1Deployment) field
by field through the models' `openapi_types` and `attribute_map`, so that
  - a field the API does not have (a typo: `imagePullPolcy`) is an error, with its path,
  - a required field that is missing (a container without `name`) is an error,
  - a value of the wrong type (a string for `containerPort`) is an error,
and then the client's own deserializer must accept the document. `kubectl --dry-run=client`
would need a cluster for the same.

  check-manifests.py FILE|DIR...                  schema only (kustomization.yaml is skipped)
  check-manifests.py --policy DIR                 and the sidecar conventions of deploy/kubernetes
  check-manifests.py --extract-config OUT DIR     write each ConfigMap's portcullis.yaml to OUT/
  check-manifests.py --compose FILE               the conventions of deploy/compose.yaml

Exit status: 0 all good, 1 errors (one line each on stderr), 3 the `kubernetes` package missing.
"""
import argparse
import inspect
import os
import re
import sys

import yaml

try:
    import kubernetes.client as k8s
except ImportError:
    print("check-manifests: the Python package 'kubernetes' is missing (pip install kubernetes; "
          "scripts/setup.sh installs it)", file=sys.stderr)
    sys.exit(3)

PRIMITIVES = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "date": (str,),
    "datetime": (str,),
    "object": (str, int, float, bool, dict, list),  # IntOrString and free-form fields
}


def model_name(api_version, kind):
    version = api_version.split("/")[-1]
    return version[:1].upper() + version[1:] + kind


_required_cache = {}


def required_fields(cls):
    """Python names of the fields the API requires, for both generations of the client."""
    if cls in _required_cache:
        return _required_cache[cls]
    required = set()
    fields = getattr(cls, "model_fields", None)
    if fields is not None:  # pydantic models (client 35+)
        required = {name for name, field in fields.items() if field.is_required()}
    else:  # classic models: the setter refuses None
        for attr in cls.openapi_types:
            prop = getattr(cls, attr, None)
            if isinstance(prop, property) and prop.fset is not None:
                try:
                    if "must not be `None`" in inspect.getsource(prop.fset):
                        required.add(attr)
                except (OSError, TypeError):
                    pass
    _required_cache[cls] = required
    return required


def check_value(value, type_name, path, errors):
    type_name = type_name.strip()
    match = re.fullmatch(r"(?:list|List)\[(.+)\]", type_name)
    if match:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, found {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check_value(item, match.group(1), f"{path}[{i}]", errors)
        return
    match = re.fullmatch(r"(?:dict\((\w+), (.+)\)|Dict\[(\w+), (.+)\])", type_name)
    if match:
        inner = match.group(2) or match.group(4)
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, found {type(value).__name__}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(f"{path}: key {key!r} is not a string")
            check_value(item, inner, f"{path}.{key}", errors)
        return
    if type_name in PRIMITIVES:
        accepted = PRIMITIVES[type_name]
        if value is None:
            return
        if isinstance(value, bool) and bool not in accepted:
            errors.append(f"{path}: expected {type_name}, found a boolean")
        elif not isinstance(value, accepted):
            errors.append(f"{path}: expected {type_name}, found {type(value).__name__} {value!r}")
        return
    cls = getattr(k8s, type_name, None)
    if cls is None:
        errors.append(f"{path}: the client has no model {type_name}")
        return
    check_model(value, cls, path, errors)


def check_model(value, cls, path, errors):
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({cls.__name__}), found {type(value).__name__}")
        return
    json_to_python = {json: python for python, json in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in json_to_python:
            known = ", ".join(sorted(json_to_python))
            errors.append(f"{path}.{key}: unknown field of {cls.__name__} (known: {known})")
            continue
        check_value(item, cls.openapi_types[json_to_python[key]], f"{path}.{key}", errors)
    for python in sorted(required_fields(cls)):
        if value.get(cls.attribute_map[python]) is None:
            errors.append(f"{path}.{cls.attribute_map[python]}: required field of {cls.__name__} is missing")


def deserialize(document, name):
    """The client's own reading of the document; raises on what it refuses."""
    cls = getattr(k8s, name)
    if hasattr(cls, "from_dict") and hasattr(cls, "model_fields"):
        return cls.from_dict(document)
    return k8s.ApiClient()._ApiClient__deserialize(document, name)


def load_documents(paths):
    """(where, document) for every YAML document of the files and directories given."""
    documents = []
    for path in paths:
        files = [path]
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith((".yaml", ".yml")) and f not in ("kustomization.yaml", "kustomization.yml"))
        for file in files:
            with open(file, encoding="utf-8") as handle:
                for index, document in enumerate(yaml.safe_load_all(handle)):
                    if document is not None:
                        documents.append((f"{file}#{index}", document))
    return documents


def check_schema(documents):
    errors = []
    for where, document in documents:
        if not isinstance(document, dict) or "apiVersion" not in document or "kind" not in document:
            errors.append(f"{where}: not a Kubernetes object (apiVersion and kind)")
            continue
        name = model_name(document["apiVersion"], document["kind"])
        cls = getattr(k8s, name, None)
        if cls is None:
            errors.append(f"{where}: unknown apiVersion/kind {document['apiVersion']} {document['kind']}")
            continue
        found = []
        check_model(document, cls, f"{where} {document['kind']}", found)
        if not found:
            try:
                deserialize(document, name)
            except Exception as error:  # the client's validation, whatever its kind
                found.append(f"{where} {document['kind']}: the client refuses it: {error}".replace("\n", " "))
        errors.extend(found)
    return errors


# ---- the conventions of deploy/kubernetes (--policy)

def probe_command(probe):
    return ((probe or {}).get("exec") or {}).get("command") or []


def check_policy(documents):
    errors = []
    by_kind = {}
    for _, document in documents:
        by_kind.setdefault(document.get("kind"), []).append(document)
    config_maps = {cm["metadata"]["name"]: cm for cm in by_kind.get("ConfigMap", [])}
    deployments = by_kind.get("Deployment", [])
    if not deployments:
        return ["policy: no Deployment"]
    for deployment in deployments:
        where = f"Deployment {deployment['metadata']['name']}"
        pod = deployment["spec"]["template"]["spec"]
        sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        if len(sidecars) != 1:
            errors.append(f"{where}: expected one native sidecar (initContainer with restartPolicy: Always)")
            continue
        proxy = sidecars[0]
        if not str(proxy.get("image", "")).split("/")[-1].startswith("portcullis"):
            errors.append(f"{where}: the sidecar does not run the portcullis image")
        for kind, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            command = probe_command(proxy.get(kind))
            if command[:2] != ["/usr/local/bin/portcullis", "probe"] or \
                    not any(arg == f"http://127.0.0.1:9901{path}" for arg in command):
                errors.append(f"{where}: {kind} must exec `portcullis probe http://127.0.0.1:9901{path}`")
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            cwhere = f"{where} container {container.get('name')}"
            sc = container.get("securityContext") or {}
            pod_sc = pod.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
                errors.append(f"{cwhere}: runAsNonRoot is not set")
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{cwhere}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{cwhere}: allowPrivilegeEscalation is not false")
            if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
                errors.append(f"{cwhere}: capabilities are not dropped (drop: [ALL])")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                errors.append(f"{cwhere}: seccompProfile is not RuntimeDefault")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set((resources.get(part) or {}).keys()):
                    errors.append(f"{cwhere}: resources.{part} lacks cpu or memory")
        mounts = [m for m in proxy.get("volumeMounts", []) if m.get("mountPath") == "/etc/portcullis"]
        if len(mounts) != 1 or "subPath" in mounts[0] or "subPathExpr" in mounts[0]:
            errors.append(f"{where}: /etc/portcullis must be one volume mount without subPath")
            continue
        volume = next((v for v in pod.get("volumes", []) if v.get("name") == mounts[0]["name"]), {})
        cm_name = (volume.get("configMap") or {}).get("name")
        if cm_name not in config_maps:
            errors.append(f"{where}: /etc/portcullis is not a ConfigMap of these manifests")
            continue
        text = (config_maps[cm_name].get("data") or {}).get("portcullis.yaml")
        if text is None:
            errors.append(f"ConfigMap {cm_name}: no portcullis.yaml key")
            continue
        config = yaml.safe_load(text)
        if (config.get("admin") or {}).get("address") != "127.0.0.1:9901":
            errors.append(f"ConfigMap {cm_name}: admin.address is not 127.0.0.1:9901 (the probes' address)")
        ports = [p["containerPort"] for p in proxy.get("ports", [])]
        listen = [str(l.get("address", "")).rsplit(":", 1)[-1] for l in config.get("listeners", [])]
        if not ports or str(ports[0]) not in listen:
            errors.append(f"{where}: the sidecar's containerPort {ports} is not a listener of {cm_name} ({listen})")
        upstream = str((config.get("upstream") or {}).get("url", ""))
        if not upstream.startswith("http://127.0.0.1:") and not upstream.startswith("https://127.0.0.1:"):
            errors.append(f"ConfigMap {cm_name}: the upstream is not the app on loopback ({upstream})")
        drain = str((config.get("timeouts") or {}).get("drain", "30s"))
        seconds = parse_seconds(drain)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if seconds is None or seconds >= grace:
            errors.append(f"{where}: timeouts.drain {drain} is not below terminationGracePeriodSeconds {grace}")
        port_names = {p.get("name") for p in proxy.get("ports", [])} | {str(p) for p in ports}
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        services = [s for s in by_kind.get("Service", [])
                    if s["spec"].get("selector") and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
        if not services:
            errors.append(f"{where}: no Service selects its pods")
        for service in services:
            for port in service["spec"].get("ports", []):
                if str(port.get("targetPort")) not in port_names:
                    errors.append(f"Service {service['metadata']['name']}: targetPort {port.get('targetPort')} "
                                  f"is not Portcullis' port")
    return errors


def parse_seconds(duration):
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", duration)
    if not match:
        return None
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]


# ---- deploy/compose.yaml (--compose): the Compose specification's service keys and the conventions

COMPOSE_TOP = {"name", "services", "networks", "volumes", "configs", "secrets", "version", "include", "models"}
COMPOSE_SERVICE = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
    "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
    "dns_opt", "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
    "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname",
    "image", "init", "ipc", "isolation", "label_file", "labels", "links", "logging", "mac_address",
    "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode",
    "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
    "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
    "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
    "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs",
    "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from",
    "working_dir",
}
COMPOSE_HEALTHCHECK = {"disable", "interval", "retries", "test", "timeout", "start_period", "start_interval"}


def check_compose(path):
    errors = []
    with open(path, encoding="utf-8") as handle:
        compose = yaml.safe_load(handle)
    for key in compose:
        if key not in COMPOSE_TOP and not key.startswith("x-"):
            errors.append(f"{path}: unknown top-level key {key}")
    services = compose.get("services") or {}
    for name, service in services.items():
        for key in service:
            if key not in COMPOSE_SERVICE and not key.startswith("x-"):
                errors.append(f"{path}: services.{name}.{key}: not a Compose service key")
        for key in (service.get("healthcheck") or {}):
            if key not in COMPOSE_HEALTHCHECK:
                errors.append(f"{path}: services.{name}.healthcheck.{key}: not a healthcheck key")
    proxy = services.get("portcullis")
    if proxy is None:
        return errors + [f"{path}: no service `portcullis`"]
    mode = proxy.get("network_mode", "")
    if mode != "host" and not (mode.startswith("service:") and mode[len("service:"):] in services):
        errors.append(f"{path}: portcullis must share the app's network namespace (network_mode)")
    if proxy.get("read_only") is not True:
        errors.append(f"{path}: portcullis is not read_only")
    if proxy.get("cap_drop") != ["ALL"]:
        errors.append(f"{path}: portcullis does not drop all capabilities")
    test = (proxy.get("healthcheck") or {}).get("test") or []
    if test[:3] != ["CMD", "/usr/local/bin/portcullis", "probe"] or "http://127.0.0.1:9901/readyz" not in test:
        errors.append(f"{path}: portcullis' healthcheck must be `portcullis probe http://127.0.0.1:9901/readyz`")
    mounts = [str(v).split(":") for v in proxy.get("volumes", [])]
    config_mounts = [m for m in mounts if len(m) >= 2 and m[1] == "/etc/portcullis"]
    if len(config_mounts) != 1:
        errors.append(f"{path}: portcullis must mount a config directory at /etc/portcullis")
    else:
        source = os.path.join(os.path.dirname(path), config_mounts[0][0])
        if not os.path.isfile(os.path.join(source, "portcullis.yaml")):
            errors.append(f"{path}: {source}/portcullis.yaml does not exist")
    for m in mounts:
        if len(m) >= 2 and not m[0].startswith("$") and not os.path.exists(os.path.join(os.path.dirname(path), m[0])):
            errors.append(f"{path}: volume source {m[0]} does not exist")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="manifest files or directories")
    parser.add_argument("--policy", action="store_true", help="also check the sidecar conventions")
    parser.add_argument("--extract-config", metavar="OUT", help="write each ConfigMap's portcullis.yaml to OUT/NAME.yaml")
    parser.add_argument("--compose", metavar="FILE", action="append", default=[], help="a compose file to check")
    args = parser.parse_args()

    documents = load_documents(args.paths)
    errors = check_schema(documents)
    if args.policy and not errors:
        errors += check_policy(documents)
    for compose in args.compose:
        errors += check_compose(compose)
    if args.extract_config and not errors:
        os.makedirs(args.extract_config, exist_ok=True)
        for _, document in documents:
            if document.get("kind") == "ConfigMap" and "portcullis.yaml" in (document.get("data") or {}):
                out = os.path.join(args.extract_config, document["metadata"]["name"] + ".yaml")
                with open(out, "w", encoding="utf-8") as handle:
                    handle.write(document["data"]["portcullis.yaml"])
                print(f"config {out}")
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return 1
    for where, document in documents:
        print(f"ok {where} {document['apiVersion']} {document['kind']} {document.get('metadata', {}).get('name', '')}")
    for compose in args.compose:
        print(f"ok {compose}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
