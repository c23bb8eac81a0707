# Assembles the GRUB BIOS disk: MBR, core.img in the post-MBR gap, FAT partition with grub.cfg + grubenv, slots, abu data.
# usage: grub-disk.sh <grub.cfg> <grubenv-assignments-file> <slotA.ext4|-> <slotB.ext4|-> <data-dir> <out.img>
. "$(dirname "$0")/disk.sh"
. "$(dirname "$0")/layout.sh"
cfg=$1 envvars=$2 slot_a=$3 slot_b=$4 datadir=$5 out=$6
need_tool grub-mkimage grub-common
need_tool grub-editenv grub-common
[ -f /usr/lib/grub/i386-pc/boot.img ] || die "/usr/lib/grub/i386-pc/boot.img is missing; install grub-pc-bin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/grub' \
  biosdisk part_msdos fat ext2 normal linux loadenv test echo serial terminal configfile reboot halt sleep true
grub-editenv "$work/grubenv" create
# shellcheck disable=SC2046 # one NAME=value per line, values without spaces or quoted for the shell
eval "set -- $(grep -v '^#' "$envvars" | tr '\n' ' ')"
[ $# -eq 0 ] || grub-editenv "$work/grubenv" set "$@"
mk_fat "$work/boot.fat" "$cfg:/grub/grub.cfg" "$work/grubenv:/grub/grubenv"
mk_data_fs "$work/data.ext4" "$datadir"

rm -f "$out"
truncate -s $(( (1 + BOOT_MIB + 2 * SLOT_MIB + DATA_MIB) * 1024 * 1024 )) "$out"
sfdisk -q --no-reread --no-tell-kernel "$out" <<SFDISK
label: dos
label-id: 0x0abb0001
start=2048, size=${BOOT_MIB}MiB, type=c, bootable
size=${SLOT_MIB}MiB, type=83
size=${SLOT_MIB}MiB, type=83
size=${DATA_MIB}MiB, type=83
SFDISK
# boot.img's and diskboot.img's default blocklists point at sector 1, where core.img goes (qemu-facts.md §5).
dd if=/usr/lib/grub/i386-pc/boot.img of="$out" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$out" bs=512 seek=1 conv=notrunc status=none
put_part "$out" "$work/boot.fat" 1
[ "$slot_a" = - ] || put_part "$out" "$slot_a" "$GRUB_PART_A"
[ "$slot_b" = - ] || put_part "$out" "$slot_b" "$GRUB_PART_B"
put_part "$out" "$work/data.ext4" "$GRUB_PART_DATA"
log "GRUB disk $out"
