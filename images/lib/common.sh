# Shared helpers for the image build scripts: logging, failing loudly, deterministic file trees.
set -euo pipefail

# A fixed epoch so filesystem timestamps do not depend on when the image was built.
export SOURCE_DATE_EPOCH=1700000000
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

need_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing; install the Debian package $2"
}

# Give every file in a staging tree the same mtime, so content alone decides the image bytes.
normalize_tree() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# sha256 of a list of files and directories (names and contents), for cache keys.
hash_inputs() {
  local p
  for p in "$@"; do
    if [ -d "$p" ]; then
      (cd "$p" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
    elif [ -e "$p" ]; then
      sha256sum "$p"
    else
      echo "absent $p"
    fi
  done | sha256sum | cut -c1-16
}

# Copies what abu needs at run time (compiled JS, the addon, runtime node_modules, proto/) from a built repo.
stage_abu() {
  local repo=$1 dest=$2 m
  [ -d "$repo/dist/engine" ] || die "$repo/dist/engine is missing: build abu first (npx tsc -p .)"
  mkdir -p "$dest/dist" "$dest/build/Release"
  cp -a "$repo/bin" "$repo/package.json" "$dest/"
  cp -a "$repo/dist/engine" "$dest/dist/"
  [ -d "$repo/dist/native" ] && cp -a "$repo/dist/native" "$dest/dist/"
  [ -d "$repo/proto" ] && cp -a "$repo/proto" "$dest/"
  # Static files the service serves (the web page) live next to the sources, not in dist/.
  if [ -d "$repo/engine/transports/web" ]; then
    mkdir -p "$dest/engine/transports"
    cp -a "$repo/engine/transports/web" "$dest/engine/transports/"
  fi
  if [ -f "$repo/build/Release/abu_native.node" ]; then
    cp "$repo/build/Release/abu_native.node" "$dest/build/Release/"
  else
    log "warning: build/Release/abu_native.node is missing; the guest's abu will have no addon"
  fi
  find "$dest/dist" -name '*.map' -delete
  for m in $(node "$(dirname "${BASH_SOURCE[0]}")/runtime-modules.js" "$repo"); do
    [ -e "$dest/$m" ] && continue # nested inside a package copied already
    mkdir -p "$dest/$(dirname "$m")"
    cp -a "$repo/$m" "$dest/$m"
  done
}
