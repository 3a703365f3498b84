#!/usr/bin/env bash
# The main job, the kubesync demo: two emulated Kubernetes clusters (a live source and a
# standby destination, which is also the management cluster the operator runs in), the
# CRDs and the reference documents' samples applied with kubectl, the controller on the
# embedded default (its own nats-server and redis-server), workloads replicated live with
# replicas 0, then one TaskRun that activates the standby with the source's replica counts.
# Installs what it needs, builds what it runs, cleans up.
#   scripts/demo.sh          # run and clean up
#   scripts/demo.sh --keep   # leave the clusters running (prints how to reach them)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[ "${1:-}" = "--keep" ] && keep=true

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies (quiet when already installed)"
scripts/install-deps.sh

step "Building kube-emulator and kubesync (first run: several minutes)"
build_dir=${KUBESYNC_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja >/dev/null
cmake --build "$build_dir" --target kube-emulator controller -j "$(nproc)" | tail -n 1
emulator="$build_dir/tests/emulator/kube-emulator"
controller="$build_dir/bin/controller"

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

testdata=libs/plan/tests/testdata
wait_for() {  # description timeout-seconds command...
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for: $what (controller log: $work/controller.log)" >&2
      tail -n 20 "$work/controller.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}
replicas_of() {  # cluster namespace deployment
  k "$1" -n "$2" get deployment "$3" -o jsonpath='{.spec.replicas}' 2>/dev/null
}

step "Installing the kubesync CRDs in both clusters"
k source apply -f charts/kubesync/crds | tail -n 3
k destination apply -f charts/kubesync/crds >/dev/null
echo "(9 CRDs in each cluster)"

step "Importing the clusters (seeds/001 'Import the clusters'), in namespace kubesync"
k destination create namespace kubesync
# The source is reached with a read-only token: kubesync never writes to it.
k destination -n kubesync create secret generic source \
  --from-file=kubeconfig.yaml="$work/source/kubeconfigs/viewer.kubeconfig"
k destination -n kubesync create secret generic destination \
  --from-file=kubeconfig.yaml="$work/destination/kubeconfigs/admin.kubeconfig"
k destination -n kubesync apply -f "$testdata/001_kubernetes_clusters.yaml"

step "Starting the controller on the embedded default (logs: $work/controller.log)"
"$controller" --kubeconfig "$work/destination/kubeconfigs/admin.kubeconfig" --operator-namespace kubesync \
  --work-dir "$work/runtime" --webhook-bind 127.0.0.1 --webhook-port 0 --webhook-port-file "$work/webhook.port" \
  --webhook-cert-file "$work/server.crt" --webhook-key-file "$work/server.key" \
  --resync-interval-ms 1000 --probe-interval-ms 2000 >"$work/controller.log" 2>&1 &
pids+=($!)
echo "controller pid ${pids[-1]}"
wait_for "the source cluster to be reachable" 60 \
  sh -c "[ \"\$(kubectl --kubeconfig $work/destination/kubeconfigs/admin.kubeconfig -n kubesync get kubernetescluster source -o jsonpath='{.status.reachable}')\" = true ]"
k destination -n kubesync get kubernetesclusters

step "Workloads in the source cluster"
k source create namespace shop
k source label namespace shop dr=enabled
k source create namespace pre-apps
k source label namespace pre-apps env=pre
k source -n shop create deployment frontend --image=nginx:1.27 --replicas=3
k source -n shop create deployment backend --image=nginx:1.27 --replicas=5
k source -n shop create configmap settings --from-literal=greeting=hello
k source -n shop create secret generic db --from-literal=password=s3cr3t
k source -n pre-apps create deployment web --image=nginx:1.27 --replicas=2
# The seeds/001 sample selects objects in env=pre namespaces, not the namespaces, and does
# not set forceNamespaceCreation: the namespace has to exist on the standby, labelled like
# the source's so that the sample's recovery Task (namespaceSelector env=pre) finds it.
k destination create namespace pre-apps
k destination label namespace pre-apps env=pre
k source get deployments -A -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,REPLICAS:.spec.replicas

step "LiveSynchronizations: the seeds/001 sample, unchanged, and an active-passive one"
k destination -n kubesync apply -f "$testdata/001_live_synchronization_sample.yaml"
k destination -n kubesync apply -f charts/kubesync/samples/active-passive.yaml
wait_for "the LiveSynchronizations to run" 60 \
  sh -c "kubectl --kubeconfig $work/destination/kubeconfigs/admin.kubeconfig -n kubesync get livesynchronization active-passive -o jsonpath='{.status.phase}' | grep -qx Running"
k destination -n kubesync get livesynchronizations

step "The standby: the same objects, with replicas 0"
for d in shop/frontend shop/backend pre-apps/web; do
  wait_for "deployment $d in the destination" 60 sh -c "[ \"\$(kubectl --kubeconfig $work/destination/kubeconfigs/admin.kubeconfig -n ${d%/*} get deployment ${d#*/} -o jsonpath='{.spec.replicas}' 2>/dev/null)\" = 0 ]"
done
k destination get deployments -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: replicas={.spec.replicas}, from LiveSynchronization {.metadata.annotations.kubesync\.io/live-synchronization}, source replicas recorded: {.metadata.annotations.kubesync\.io/original-values}{"\n"}{end}'
k destination -n shop get configmap settings -o jsonpath='configmap shop/settings: greeting={.data.greeting}{"\n"}'

step "Live: a change in the source appears in the destination"
start=$(date +%s%N)
k source -n shop create configmap feature-flags --from-literal=checkout=v2 >/dev/null
wait_for "configmap shop/feature-flags in the destination" 30 \
  kubectl --kubeconfig "$work/destination/kubeconfigs/admin.kubeconfig" -n shop get configmap feature-flags
echo "shop/feature-flags arrived in $(( ($(date +%s%N) - start) / 1000000 )) ms (including kubectl start-up)"
k source -n shop scale deployment frontend --replicas=4 >/dev/null
wait_for "the new frontend scale recorded on the standby" 30 sh -c \
  "kubectl --kubeconfig $work/destination/kubeconfigs/admin.kubeconfig -n shop get deployment frontend -o jsonpath='{.metadata.annotations.kubesync\.io/original-values}' | grep -q '\"value\":4'"
echo "source frontend scaled to 4: the standby stays at $(replicas_of destination shop frontend) and records 4 for recovery"

step "The recovery Task the controller keeps in the destination"
k destination -n kubesync get tasks
k destination -n kubesync get task active-passive -o jsonpath='{.spec.config.resources[0]}{"\n"}'

step "Disaster: one TaskRun activates the standby"
k destination -n kubesync apply -f charts/kubesync/samples/taskrun-active-passive.yaml
wait_for "the TaskRun to finish" 120 sh -c \
  "kubectl --kubeconfig $work/destination/kubeconfigs/admin.kubeconfig -n kubesync get taskrun activate-standby -o jsonpath='{.status.phase}' | grep -qx Succeeded"
k destination -n kubesync get taskruns
k destination -n kubesync get livesynchronizations
k destination get deployments -A -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,REPLICAS:.spec.replicas
[ "$(replicas_of destination shop frontend)" = 4 ] && [ "$(replicas_of destination shop backend)" = 5 ] || {
  echo "the standby did not get the source's replica counts" >&2; exit 1; }
echo "standby active: frontend=4 and backend=5 replicas, as in the source"

step "What kubectl describe tells"
k destination -n kubesync describe taskrun activate-standby | sed -n '/Events:/,$p'

step "Done"
if [ "$keep" = true ]; then
  echo "Everything keeps running. Kubeconfigs:"
  echo "  $work/source/kubeconfigs/admin.kubeconfig"
  echo "  $work/destination/kubeconfigs/admin.kubeconfig (also the management cluster)"
  echo "Controller log: $work/controller.log"
  echo "Stop with: kill ${pids[*]}"
fi
