#!/usr/bin/env bash
# Builds what `make k8s-verify` runs, into a cache outside the repository:
#   - this module's control plane (kube-apiserver, kube-controller-manager,
#     kube-scheduler and kubectl, all Kubernetes $K8S_VERSION, one binary);
#   - kwok $KWOK_VERSION (fake nodes) and its "fast" stages.
# Each is keyed by version (and, for the control plane, by this module's
# content), so only the first run pays: ~15-20 min cold on 2 cores.
# Prints the paths as environment assignments for the test.
#
# Usage: install.sh CACHE_DIR
set -euo pipefail

K8S_VERSION=v1.37.2
KWOK_VERSION=v0.8.0
cache=${1:?usage: install.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"

key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
controlplane="$cache/controlplane-$K8S_VERSION-$key/controlplane"
if [ ! -x "$controlplane" ]; then
  echo "building the Kubernetes $K8S_VERSION control plane (once; 12-25 min cold)..." >&2
  start=$(date +%s)
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  pkg=k8s.io/component-base/version
  (cd "$here" && go build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    -o "$controlplane.tmp" .)
  mv "$controlplane.tmp" "$controlplane"
  echo "built in $(( $(date +%s) - start )) s" >&2
fi

kwok="$cache/kwok-$KWOK_VERSION/kwok"
if [ ! -x "$kwok" ]; then
  echo "building kwok $KWOK_VERSION (once; ~4 min cold)..." >&2
  (cd "$cache" && GOBIN="$cache/kwok-$KWOK_VERSION.tmp" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
  mkdir -p "$(dirname "$kwok")"
  mv "$cache/kwok-$KWOK_VERSION.tmp/kwok" "$kwok"
  rmdir "$cache/kwok-$KWOK_VERSION.tmp"
fi
stages="$cache/kwok-$KWOK_VERSION/stages-fast.yaml"
if [ ! -s "$stages" ]; then
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage/fast"
  [ -d "$src" ] || (cd "$cache" && go mod download "sigs.k8s.io/kwok@$KWOK_VERSION")
  "$controlplane" kubectl kustomize "$src" > "$stages.tmp"
  mv "$stages.tmp" "$stages"
fi

echo "BOOKSTORE_CONTROLPLANE=$controlplane BOOKSTORE_KWOK=$kwok BOOKSTORE_KWOK_STAGES=$stages"
