# Assembles the U-Boot disk: GPT with boot.scr on a FAT partition, a redundant raw env partition, slots A and B, abu data.
# usage: uboot-disk.sh <boot.cmd> <env.txt> <slotA.ext4|-> <slotB.ext4|-> <data-dir> <out.img>   ("-" leaves a slot empty)
. "$(dirname "$0")/disk.sh"
. "$(dirname "$0")/layout.sh"
bootcmd=$1 envtxt=$2 slot_a=$3 slot_b=$4 datadir=$5 out=$6
need_tool mkimage u-boot-tools
need_tool mkenvimage u-boot-tools
need_tool sfdisk fdisk
need_tool mcopy mtools

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkimage -q -A x86 -O linux -T script -C none -n "abu A/B boot script" -d "$bootcmd" "$work/boot.scr" >/dev/null \
  || die "mkimage could not compile $bootcmd"
mk_fat "$work/boot.fat" "$work/boot.scr:/boot.scr"
# Both copies of the redundant env start identical; U-Boot and libubootenv then agree on copy 1.
mkenvimage -r -s "$ENV_SIZE" -o "$work/env.bin" "$envtxt"
mk_data_fs "$work/data.ext4" "$datadir"

rm -f "$out"
truncate -s $(( (1 + BOOT_MIB + ENV_MIB + 2 * SLOT_MIB + DATA_MIB + 1) * 1024 * 1024 )) "$out"
sfdisk -q --no-reread --no-tell-kernel "$out" <<SFDISK
label: gpt
label-id: 0ABB0000-0000-4000-8000-000000000001
first-lba: 2048
start=2048, size=${BOOT_MIB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="boot", uuid=0ABB0000-0000-4000-8000-000000000011
size=${ENV_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="uboot-env", uuid=0ABB0000-0000-4000-8000-000000000012
size=${SLOT_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="rootfs-A", uuid=0ABB0000-0000-4000-8000-000000000013
size=${SLOT_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="rootfs-B", uuid=0ABB0000-0000-4000-8000-000000000014
size=${DATA_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="abu-data", uuid=0ABB0000-0000-4000-8000-000000000015
SFDISK
put_part "$out" "$work/boot.fat" 1
put_part "$out" "$work/env.bin" "$UBOOT_PART_ENV"
env_off=$(part_start "$out" "$UBOOT_PART_ENV")
dd if="$work/env.bin" of="$out" bs=1M oflag=seek_bytes seek=$((env_off + ENV_COPY2_OFFSET)) conv=notrunc status=none
[ "$slot_a" = - ] || put_part "$out" "$slot_a" "$UBOOT_PART_A"
[ "$slot_b" = - ] || put_part "$out" "$slot_b" "$UBOOT_PART_B"
put_part "$out" "$work/data.ext4" "$UBOOT_PART_DATA"
log "U-Boot disk $out: env at byte $env_off"
