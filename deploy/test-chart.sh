#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/scales-sr without a cluster (scripts/test calls this):
#   - helm lint --strict, and helm template for several value sets, every rendered object
#     validated against the Kubernetes schemas plus the chart's own promises
#     (deploy/helm/check/validate.mjs: non-root, read-only, gRPC probes, expected objects);
#   - values.schema.json rejects bad values, each with helm's message naming the key;
#   - the ConfigMap's SCALES_* settings are all options the server knows, and a server started
#     with exactly those settings comes up SERVING.
# Uses helm from .tools/bin and the validator's node_modules (both from scripts/setup).
# Usage: deploy/test-chart.sh PATH/TO/scales-server PATH/TO/scales-upscale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="$(realpath "${1:?usage: deploy/test-chart.sh SCALES_SERVER SCALES_UPSCALE}")"
cli="$(realpath "${2:?usage: deploy/test-chart.sh SCALES_SERVER SCALES_UPSCALE}")"
helm="$root/.tools/bin/helm"
chart="$root/deploy/helm/scales-sr"
check="$root/deploy/helm/check"
[ -x "$helm" ] || { echo "test-chart: $helm missing (run scripts/setup)"; exit 1; }
[ -d "$check/node_modules" ] || { echo "test-chart: $check/node_modules missing (run scripts/setup)"; exit 1; }
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "test-chart: FAIL: $*" >&2; exit 1; }

# render NAME EXPECTATIONS -- HELM_ARGS: lint, template, validate.
render() {
  local name="$1"; shift
  local expects=()
  while [ "$1" != -- ]; do expects+=(--expect "$1"); shift; done
  shift
  local lint=() skip=0 a  # helm lint has no --api-versions
  for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; elif [ "$a" = --api-versions ]; then skip=1; else lint+=("$a"); fi
  done
  "$helm" lint --strict "$chart" "${lint[@]}" >"$work/lint.log" 2>&1 || { cat "$work/lint.log"; fail "$name: helm lint"; }
  "$helm" template demo "$chart" --namespace sr "$@" >"$work/$name.yaml" 2>"$work/err.log" \
    || { cat "$work/err.log"; fail "$name: helm template"; }
  echo "test-chart: $name"
  (cd "$check" && node validate.mjs "${expects[@]}" <"$work/$name.yaml") || fail "$name: rendered objects"
}

render default Deployment=1 Service=2 ConfigMap=1 ServiceAccount=1 HorizontalPodAutoscaler=1 \
  PodDisruptionBudget=1 ServiceMonitor=0 gpu=0 --
render gpu gpu=2 -- --set gpu.enabled=true --set gpu.count=2 --set gpu.image.repository=registry.example/scales-sr-cuda
grep -q 'image: "registry.example/scales-sr-cuda:0.1.0"' "$work/gpu.yaml" || fail "gpu: the GPU image is not used"
grep -q 'key: nvidia.com/gpu' "$work/gpu.yaml" || fail "gpu: no toleration for the GPU taint"
render fixed-replicas HorizontalPodAutoscaler=0 PodDisruptionBudget=0 -- \
  --set autoscaling.enabled=false --set replicaCount=3 --set podDisruptionBudget.enabled=false
grep -q '^  replicas: 3$' "$work/fixed-replicas.yaml" || fail "fixed-replicas: replicas not set"
grep -q '^  replicas:' "$work/default.yaml" && fail "default: replicas set although the HPA owns them"
render servicemonitor ServiceMonitor=1 -- --set serviceMonitor.enabled=true --api-versions monitoring.coreos.com/v1
render servicemonitor-no-api ServiceMonitor=0 -- --set serviceMonitor.enabled=true
render tokens-no-headless Service=1 -- --set server.authTokensSecret=scales-tokens --set headless.enabled=false
grep -q 'secretName: scales-tokens' "$work/tokens-no-headless.yaml" || fail "tokens: the Secret is not mounted"
render http -- --set http.enabled=true --set ports.http=8081
grep -q 'SCALES_HTTP_LISTEN: "0.0.0.0:8081"' "$work/http.yaml" || fail "http: SCALES_HTTP_LISTEN not set"
grep -q 'containerPort: 8081' "$work/http.yaml" || fail "http: no container port"
grep -A2 -- '- name: http$' "$work/http.yaml" | grep -c 'port: 8081' >/dev/null || fail "http: the Service has no http port"
grep -q 'SCALES_HTTP_LISTEN: ""' "$work/default.yaml" || fail "default: HTTP is not turned off"

# values.schema.json: each bad value is refused, naming the key.
reject() {
  local key="$1"; shift
  if "$helm" template demo "$chart" "$@" >/dev/null 2>"$work/err.log"; then fail "schema accepted $*"; fi
  grep -q "$key" "$work/err.log" || { cat "$work/err.log"; fail "schema error for $* does not name $key"; }
}
reject replicaCount --set replicaCount=-1
reject maxBatch --set server.maxBatch=0
reject pullPolicy --set image.pullPolicy=Sometimes
reject colour --set colour=blue
reject targetCPUUtilizationPercentage --set autoscaling.targetCPUUtilizationPercentage=150
reject interval --set serviceMonitor.interval=soon
reject maxReplicas --set autoscaling.minReplicas=5 --set autoscaling.maxReplicas=3
reject http --set ports.http=70000
echo "test-chart: values.schema.json and the templates refuse 8 bad value sets"

# The ConfigMap against the real server: known options only, and it serves with them.
env_file="$work/env"
(cd "$check" && node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parseAllDocuments } from "yaml";
  const cm = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).find((o) => o?.kind === "ConfigMap");
  for (const [k, v] of Object.entries(cm.data)) console.log(`${k}=${v}`);
') <"$work/default.yaml" >"$env_file"
known="$("$server" --help | grep -o 'Env:SCALES_[A-Z_]*' | cut -d: -f2)"
while IFS='=' read -r key _; do
  grep -qx "$key" <<<"$known" || fail "ConfigMap sets $key, which scales-server does not read"
done <"$env_file"
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mport="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The chart's settings as the pod gets them, but on loopback ports and with this checkout's models.
env -i PATH="$PATH" $(grep -v -e '^SCALES_LISTEN=' -e '^SCALES_METRICS_LISTEN=' -e '^SCALES_MODELS=' "$env_file") \
  SCALES_LISTEN="127.0.0.1:$port" SCALES_METRICS_LISTEN="127.0.0.1:$mport" SCALES_MODELS="$root/models/weights" \
  "$server" >"$work/server.log" 2>&1 &
pid=$!
"$cli" health --server "127.0.0.1:$port" --timeout 60 >/dev/null || { cat "$work/server.log"; fail "server with the chart's settings"; }
echo "test-chart: the ConfigMap's $(wc -l <"$env_file") settings are server options; a server with them is SERVING"
echo "test-chart: ok"
