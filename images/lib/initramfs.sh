# Builds the busybox-static initramfs: loads the virtio, network and FAT modules, mounts the slot read-only, switch_roots.
# usage: initramfs.sh <kernel-tree> <out.img>
. "$(dirname "$0")/common.sh"
ktree=$1 out=$2
need_tool busybox busybox-static
need_tool cpio cpio
need_tool strings binutils

kver=$(ls "$ktree/lib/modules" | head -n1)
mods="$ktree/lib/modules/$kver"
# virtio_blk for the disk, virtio_net for abu's HTTP service, vfat for the GRUB env partition.
wanted="virtio_pci virtio_blk virtio_net vfat nls_cp437 nls_ascii"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$stage/bin/busybox"
for a in sh mount umount switch_root insmod sleep cat sed mkdir echo grep; do ln -s busybox "$stage/bin/$a"; done

# Debian ships no modules.dep (depmod runs at install), so read each module's depends= and load deps first.
order=""
add_module() {
  local name=$1 file dep
  case " $order " in *" $name "*) return ;; esac
  file=$(find "$mods/kernel" -name "$name.ko" | head -n1)
  [ -n "$file" ] || die "module $name not found in $mods"
  for dep in $(strings -a "$file" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
  order="$order $name"
  cp "$file" "$stage/lib/modules/$name.ko"
}
for m in $wanted; do add_module "$m"; done
echo "$order" | tr ' ' '\n' | sed '/^$/d' > "$stage/lib/modules/order"
install -m 0755 "$(dirname "$0")/../guest/initramfs-init" "$stage/init"

normalize_tree "$stage"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0) | gzip -9 -n > "$out"
log "initramfs $(du -k "$out" | cut -f1) KiB, modules:$order"
