# Fetches the Debian cloud kernel with apt-get download and unpacks it with dpkg -x (never installs it on the host).
# usage: kernel.sh <cache-dir>   prints the unpacked tree's path; the .deb is kept so reruns need no network.
. "$(dirname "$0")/common.sh"
cache=$1
need_tool apt-get apt
need_tool dpkg dpkg

# The cloud flavour: LZ4-compressed, ~3.5 s to userspace under TCG (the generic XZ kernel takes ~11 s).
meta=linux-image-cloud-amd64
cloud_pkg() { apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1; }
pkg=$(cloud_pkg)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ] && ! ls "$cache"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1; then
  log "apt knows no $meta: running apt-get update"
  apt-get update -qq >&2 || true
  pkg=$(cloud_pkg)
fi
if [ -z "$pkg" ]; then
  # No apt lists (offline CI cache): reuse whatever kernel was fetched before.
  pkg=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | sed 's#.*/##; s/_.*//' | sort -V | tail -n1)
  [ -n "$pkg" ] || die "apt-cache knows no $meta; run apt-get update"
fi
mkdir -p "$cache"
deb=$(ls "$cache/${pkg}"_*_amd64.deb 2>/dev/null | tail -n1 || true)
if [ -z "$deb" ]; then
  log "downloading $pkg"
  (cd "$cache" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
  deb=$(ls "$cache/${pkg}"_*_amd64.deb | tail -n1)
fi
tree="$cache/${pkg}.tree"
if [ ! -f "$tree/.done" ]; then
  rm -rf "$tree"
  dpkg -x "$deb" "$tree"
  touch "$tree/.done"
fi
echo "$tree"
