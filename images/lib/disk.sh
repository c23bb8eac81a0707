# Disk assembly helpers shared by the U-Boot and GRUB disk scripts: partition offsets, dd into a sparse image.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Start of partition $2 of disk $1, in bytes.
part_start() {
  sfdisk -J "$1" | node -e "const t=JSON.parse(require('fs').readFileSync(0,'utf8')).partitiontable;
    const p=t.partitions[$2-1]; process.stdout.write(String(p.start*(t.sectorsize||512)))"
}

# Copies a file into partition $3 of disk $1 (the image must be freshly truncated: conv=sparse skips zeros).
put_part() {
  local disk=$1 file=$2 part=$3 off
  off=$(part_start "$disk" "$part")
  dd if="$file" of="$disk" bs=1M oflag=seek_bytes seek="$off" conv=notrunc,sparse status=none
}

# The ext4 for abu's state (history, checkpoints), found in the guest by its label; $2 is its factory content.
mk_data_fs() {
  rm -f "$1"
  normalize_tree "$2"
  mke2fs -q -F -t ext4 -b 4096 -L abu-data -U 6162752d-6461-7461-0000-000000000001 \
    -E hash_seed=6162752d-6461-7461-0000-000000000001,root_owner=0:0 -d "$2" "$1" "${DATA_MIB}M"
}

# A FAT boot partition image holding the given files ("src:dest" pairs, dest dirs are created).
mk_fat() {
  local out=$1 spec src dest; shift
  rm -f "$out"
  mkfs.vfat -C -n ABUBOOT -i 0abb0001 "$out" $((BOOT_MIB * 1024)) >/dev/null
  for spec in "$@"; do
    src=${spec%%:*} dest=${spec#*:}
    [ "$(dirname "$dest")" = / ] || mmd -D s -i "$out" "::$(dirname "$dest")" 2>/dev/null || true
    mcopy -m -i "$out" "$src" "::$dest"
  done
}
