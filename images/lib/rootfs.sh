# Builds one slot's ext4 root filesystem from the shared stage: its version, its kind (good, panic, hang, unhealthy).
# usage: rootfs.sh <stage-dir> <version> <kind> <size-MiB> <out.ext4>
. "$(dirname "$0")/common.sh"
stage=$1 version=$2 kind=$3 size=$4 out=$5
need_tool mke2fs e2fsprogs
case $kind in good|panic|hang|unhealthy) ;; *) die "unknown image kind $kind" ;; esac

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
# Hard links: the 100 MB of shared payload is not copied per variant.
cp -al "$stage/." "$tree/"
echo "$version" > "$tree/etc/sw-version"
echo "$kind" > "$tree/etc/image-kind"
normalize_tree "$tree"

# Fixed UUID and hash seed: the same inputs give the same bytes. Read-only at run time, so no journal.
uuid=$(printf '%s' "$version-$kind" | sha256sum | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/')
rm -f "$out"
mke2fs -q -F -t ext4 -O ^has_journal -b 4096 -L "abu-$version" -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" \
  -d "$tree" "$out" "${size}M" || die "mke2fs failed for $out (is the slot size ${size} MiB too small?)"
log "rootfs $version ($kind): $(du -k "$out" | cut -f1) KiB allocated"
