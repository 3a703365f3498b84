#!/usr/bin/env bash
# The main job: two emulated Kubernetes clusters (source and destination) and the real
# kubectl working against them. Later milestones grow this into the full kubesync demo
# (live sync and recovery). Installs what it needs, builds what it runs, cleans up.
#   scripts/demo.sh          # run and clean up
#   scripts/demo.sh --keep   # leave the clusters running (prints how to reach them)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[ "${1:-}" = "--keep" ] && keep=true

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies (quiet when already installed)"
scripts/install-deps.sh

step "Building kube-emulator"
build_dir=${KUBESYNC_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja >/dev/null
cmake --build "$build_dir" --target kube-emulator -j "$(nproc)" | tail -n 1
emulator="$build_dir/tests/emulator/kube-emulator"

work=$(mktemp -d "${TMPDIR:-/tmp}/kubesync-demo-XXXXXX")
pids=()
cleanup() {
  if [ "$keep" = true ]; then return; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step "Creating a certificate authority and server certificates in $work"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=kubesync-demo-ca" \
  -keyout "$work/ca.key" -out "$work/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/server.key" \
  -out "$work/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/san.ext" -out "$work/server.crt" >/dev/null 2>&1

start_cluster() {  # name
  local name=$1 dir="$work/$1"
  mkdir -p "$dir/kubeconfigs"
  printf '%s,admin,admin\n%s,viewer,reader\n' "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" > "$dir/tokens.csv"
  "$emulator" --port 0 --port-file "$dir/port" --data-dir "$dir/data" --token-file "$dir/tokens.csv" \
    --tls-cert-file "$work/server.crt" --tls-private-key-file "$work/server.key" --tls-ca-file "$work/ca.crt" \
    --write-kubeconfig "$dir/kubeconfigs" >"$dir/emulator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
  [ -s "$dir/port" ] || { echo "the $name cluster did not start; see $dir/emulator.log" >&2; exit 1; }
  echo "$name cluster: https://127.0.0.1:$(cat "$dir/port") (pid ${pids[-1]})"
}

step "Starting two emulated clusters"
start_cluster source
start_cluster destination

k() {  # cluster kubectl-args...
  local c=$1; shift
  kubectl --kubeconfig "$work/$c/kubeconfigs/admin.kubeconfig" --cache-dir "$work/$c/cache" "$@"
}

step "kubectl against the source cluster"
k source version -o json | jq -r '"server version: " + .serverVersion.gitVersion'
k source create namespace shop
cat > "$work/shop.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop, labels: {app: web}}
data: {greeting: hello}
YAML
k source apply -f "$work/shop.yaml"
k source -n shop get deployments,configmaps -l app=web

step "The same manifests on the destination, as a standby (replicas 0)"
k destination create namespace shop
k destination apply -f "$work/shop.yaml"
k destination -n shop scale deployment web --replicas=0
k destination -n shop get deployment web -o jsonpath='{.metadata.name} replicas={.spec.replicas}{"\n"}'

step "A read-only user may look but not touch"
kubectl --kubeconfig "$work/source/kubeconfigs/viewer.kubeconfig" --cache-dir "$work/source/cache-viewer" \
  -n shop get configmap web-config -o name
if kubectl --kubeconfig "$work/source/kubeconfigs/viewer.kubeconfig" --cache-dir "$work/source/cache-viewer" \
  -n shop delete configmap web-config 2>"$work/denied.txt"; then
  echo "unexpected: the reader deleted an object" >&2; exit 1
fi
echo "refused as expected: $(head -n 1 "$work/denied.txt")"

step "Done"
if [ "$keep" = true ]; then
  echo "Clusters keep running. Kubeconfigs:"
  echo "  $work/source/kubeconfigs/admin.kubeconfig"
  echo "  $work/destination/kubeconfigs/admin.kubeconfig"
  echo "Stop them with: kill ${pids[*]}"
fi
