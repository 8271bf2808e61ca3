#!/usr/bin/env bash
# Builds the container image from the Dockerfile and runs it on this machine, with no Docker
# daemon and no registry (scripts/test calls this; all tools are Debian packages):
#   1. the base image docker.io/library/debian:bookworm, made with debootstrap from the Debian
#      mirror apt uses here and imported into podman (cached: .tools/ and podman's storage);
#   2. podman build, chroot isolation, never pulling;
#   3. the image's configuration: non-root user, ports, HEALTHCHECK, models, no toolchain;
#   4. scales-server from the image (buildah run: podman run cannot set rlimits on these
#      machines), its HEALTHCHECK command run inside it, Set5 x2 and x4 upscaled through it with
#      the host's scales-upscale (and baby by curl over HTTP) and compared pixel for pixel with
#      --local; SIGTERM stops it.
# Usage: deploy/test-image.sh PATH/TO/scales-upscale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$(realpath "${1:?usage: deploy/test-image.sh PATH/TO/scales-upscale}")"
image=scales-sr:test
base=docker.io/library/debian:bookworm
rootfs="$root/.tools/bookworm-rootfs"
set5="$root/../shared/data/benchmark/Set5/LR_bicubic"
work="$(mktemp -d)"
ctr="" server_pid=""

cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-image: FAIL: $*" >&2; exit 1; }

# --- 1. base image -------------------------------------------------------------------------
mirror() {  # the first Debian (non-security) archive in apt's sources, one-line or deb822 style
  local files=() f urls
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  urls="$(grep -hE '^[[:space:]]*(URIs:|deb[[:space:]])' "${files[@]}" | grep -oE 'https?://[^[:space:]]+' \
    | grep -v security || true)"
  printf '%s\n' "${urls%%$'\n'*}"
}
if ! podman image exists "$base"; then
  if [ ! -f "$rootfs/.complete" ]; then
    url="$(mirror)"
    [ -n "$url" ] || fail "no Debian mirror in /etc/apt/sources.list*"
    echo "test-image: debootstrap bookworm from $url"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$url" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
    # What an official base image has: bookworm, its updates and security archives, no caches.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $url
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${url%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
    touch "$rootfs/.complete"
  fi
  echo "test-image: importing the base image $base"
  tar -C "$rootfs" --exclude=./.complete -c . | podman import -q - "$base" >/dev/null
fi

# --- 2. build --------------------------------------------------------------------------------
echo "test-image: podman build -t $image ."
start=$SECONDS
podman build --isolation chroot --pull=never --format docker -t "$image" "$root" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; fail "podman build"; }
size_mb=$(( $(podman image inspect --format '{{.Size}}' "$image") / 1000000 ))
base_mb=$(( $(podman image inspect --format '{{.Size}}' "$base") / 1000000 ))
echo "test-image: built in $((SECONDS - start)) s; image $size_mb MB (base $base_mb MB)"

# --- 3. configuration ------------------------------------------------------------------------
cfg() { podman image inspect --format "{{$1}}" "$image"; }
[ "$(cfg .Config.User)" = "10001:10001" ] || fail "image user is '$(cfg .Config.User)', not 10001:10001"
ports="$(cfg .Config.ExposedPorts)"
[[ "$ports" == *50051/tcp* && "$ports" == *8080/tcp* && "$ports" == *9090/tcp* ]] || fail "exposed ports: $ports"
health_cmd="$(podman image inspect --format '{{range .Config.Healthcheck.Test}}{{.}} {{end}}' "$image")"
[[ "$health_cmd" == "CMD scales-upscale health --server 127.0.0.1:50051 "* ]] || fail "HEALTHCHECK: '$health_cmd'"
ctr="$(buildah from --pull-never -q "$image")"
in_image() { buildah run --isolation chroot "$ctr" -- "$@"; }
[ "$(in_image id -u)" = 10001 ] || fail "commands in the image do not run as uid 10001"
models="$(in_image ls /models | LC_ALL=C sort | tr '\n' ' ')"
want="$(cd "$root/models/weights" && ls -- *.safetensors *.md | LC_ALL=C sort | tr '\n' ' ')"
[ "$models" = "$want" ] || fail "/models holds: $models (expected the released models and cards: $want)"
tools="$(in_image sh -c 'for t in g++ cc cmake make; do command -v "$t"; done; echo end')"
[ "$tools" = end ] || fail "the runtime image contains build tools: $tools"
echo "test-image: user 10001, ports 50051+8080+9090, HEALTHCHECK, /models, no toolchain: ok"

# --- 4. run it -------------------------------------------------------------------------------
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)" mport="$(free_port)" hport="$(free_port)"
buildah run --isolation chroot --env "SCALES_LISTEN=127.0.0.1:$port" --env "SCALES_METRICS_LISTEN=127.0.0.1:$mport" \
  --env "SCALES_HTTP_LISTEN=127.0.0.1:$hport" \
  "$ctr" -- scales-server >"$work/server.log" 2>&1 &
server_pid=$!
# The image's own HEALTHCHECK command, pointed at this run's port; a first start may be slow,
# so it waits up to a minute instead of the HEALTHCHECK's few seconds.
read -r -a words <<<"${health_cmd#CMD }"
hc=() prev=""
for w in "${words[@]}"; do
  [ "$w" = 127.0.0.1:50051 ] && w="127.0.0.1:$port"
  [ "$prev" = --timeout ] && w=60
  hc+=("$w") prev="$w"
done
in_image "${hc[@]}" || { cat "$work/server.log"; fail "the HEALTHCHECK command did not report SERVING"; }
for s in 2 4; do
  "$cli" --server "127.0.0.1:$port" --scale "$s" -i "$set5/X$s" -o "$work/image$s" 2>"$work/remote$s.log" \
    || { cat "$work/remote$s.log" "$work/server.log"; fail "upscaling Set5 x$s through the image"; }
  "$cli" --local -m "$root/models/weights/scales-edsr-x$s.safetensors" -i "$set5/X$s" -o "$work/local$s" \
    2>"$work/local$s.log" || { cat "$work/local$s.log"; fail "--local x$s"; }
done
# The HTTP front door of the image: the page, and one Set5 image by curl.
# The page goes to a file first: under pipefail, `curl | grep -q` fails whenever grep
# finds its match and exits while curl is still writing (curl then dies of SIGPIPE).
curl -sf "http://127.0.0.1:$hport/" -o "$work/page.html" || fail "GET / of the image's HTTP front door"
grep -q "SCALES-SR upscaler" "$work/page.html" || fail "the image's web page has no 'SCALES-SR upscaler'"
curl -sf --data-binary "@$set5/X2/babyx2.png" "http://127.0.0.1:$hport/v1/models/scales-edsr-x2:upscale" \
  -o "$work/http-baby.png" || { cat "$work/server.log"; fail "POST /v1/models/scales-edsr-x2:upscale"; }
"$root/scripts/py" - "$work" <<'PY' || fail "the image's results differ from --local"
import sys
from pathlib import Path
import numpy as np
from PIL import Image
work = Path(sys.argv[1])
n = 0
for s in (2, 4):
    for f in sorted((work / f"local{s}").glob("*.png")):
        a = np.asarray(Image.open(f))
        b = np.asarray(Image.open(work / f"image{s}" / f.name))
        assert a.shape == b.shape and np.array_equal(a, b), f"x{s} {f.name}: differs"
        n += 1
assert n == 10, f"compared {n} images, expected 10"
assert np.array_equal(np.asarray(Image.open(work / "http-baby.png")), np.asarray(Image.open(work / "local2" / "babyx2.png"))), \
    "HTTP baby differs"
print(f"test-image: Set5 x2 and x4 through the image equal --local pixel for pixel ({n} images)")
PY
# SIGTERM to the server itself (buildah run answers SIGTERM by killing its child).
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
srv=""
for p in $(descendants "$server_pid"); do
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = scales-server ] && srv=$p
done
[ -n "$srv" ] || fail "cannot find the server process under buildah run"
kill -TERM "$srv"
timeout 60 tail --pid="$server_pid" -f /dev/null || fail "the server did not stop within 60 s of SIGTERM"
wait "$server_pid" && rc=0 || rc=$?
server_pid=""
grep -q "^stopped" "$work/server.log" && [ "$rc" = 0 ] \
  || { cat "$work/server.log"; fail "the server did not stop cleanly (exit $rc)"; }
echo "test-image: SIGTERM drained and stopped the server (exit 0)"
echo "test-image: ok ($image, $size_mb MB)"
