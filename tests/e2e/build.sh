#!/usr/bin/env bash
# Builds or installs the e2e components into a cache outside the repo, keyed
# by version, so a warm run skips all of it:
#   kube-apiserver (Kubernetes $K8S_VERSION) and etcd ($ETCD_VERSION) built
#   from the Go module proxy through small wrapper modules, the
#   amazon-ec2-metadata-mock, helm ($HELM_VERSION, for the chart tests), and
#   moto[server] in a venv.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
IMDS_MOCK_VERSION=${IMDS_MOCK_VERSION:-v1.13.0}
MOTO_VERSION=${MOTO_VERSION:-5.1.19}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cni-metrics-helper-e2e}
BIN="$CACHE/bin"
mkdir -p "$BIN"
export GOFLAGS=-mod=mod CGO_ENABLED=0
log() { echo "e2e-build: $*" >&2; }

build_apiserver() {
  local out="$BIN/kube-apiserver-$K8S_VERSION"
  [ -x "$out" ] && return 0
  local dir="$CACHE/src/kube-apiserver-$K8S_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  log "building kube-apiserver $K8S_VERSION (cold: several minutes)"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local staging_version="v0.${K8S_VERSION#v1.}"
  {
    echo "module e2e/kubeapiserver"
    echo
    grep -E '^go [0-9]' "$gomod"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # every staging module k8s.io/kubernetes replaces with ./staging/... is
    # pinned to the matching published v0.x release
    grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
  printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\nfunc main() {}\n' > tools.go
  go mod tidy >/dev/null 2>&1 || true
  go build -o "$out" k8s.io/kubernetes/cmd/kube-apiserver
}

build_etcd() {
  local out="$BIN/etcd-$ETCD_VERSION"
  [ -x "$out" ] && return 0
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  log "building etcd $ETCD_VERSION"
  cat > go.mod <<MOD
module e2e/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
  go mod tidy >/dev/null
  go build -o "$out" .
}

# go install <package>@<version> into the cache as <name>-<version>
go_install() { # $1 name, $2 package, $3 version
  local out="$BIN/$1-$3"
  [ -x "$out" ] && return 0
  log "building $1 $3 from the Go module proxy"
  GOBIN="$CACHE/gobin" go install "$2@$3"
  mv "$CACHE/gobin/$(basename "$2")" "$out"
}

install_imds_mock() {
  go_install ec2-metadata-mock github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock "$IMDS_MOCK_VERSION"
}

install_helm() {
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
}

install_moto() {
  local venv="$CACHE/moto-$MOTO_VERSION"
  [ -x "$venv/bin/moto_server" ] && return 0
  log "installing moto[server]==$MOTO_VERSION"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION"
}

case "${1:-all}" in
  apiserver) build_apiserver ;;
  etcd) build_etcd ;;
  imds) install_imds_mock ;;
  moto) install_moto ;;
  helm) install_helm ;;
  all) build_etcd; install_imds_mock; install_moto; install_helm; build_apiserver ;;
esac
echo "$CACHE"
