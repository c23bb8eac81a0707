# Writes manifest.json: what a build produced and the layout numbers the harness needs (file names relative to the build dir).
# usage: manifest.sh <build-dir> <key> <variants>
. "$(dirname "$0")/disk.sh"
. "$(dirname "$0")/layout.sh"
dir=$1 key=$2 variants=$3
uboot_env=$(part_start "$dir/uboot.img" "$UBOOT_PART_ENV")
grub_boot=$(part_start "$dir/grub.img" 1)
rootfs=""
for v in $variants; do
  IFS=: read -r name version kind <<<"$v"
  rootfs="$rootfs${rootfs:+,}\"$name\":{\"file\":\"rootfs-$name.ext4\",\"version\":\"$version\",\"kind\":\"$kind\"}"
done
cat <<JSON
{
  "key": "$key",
  "slotBytes": $((SLOT_MIB * 1024 * 1024)),
  "kernel": "vmlinuz",
  "signingKey": "system-test.key", "publicKey": "system-test.pub", "product": "abu-qemu-appliance",
  "initrd": "initrd.img",
  "rootfs": {$rootfs},
  "uboot": {
    "disk": "uboot.img", "rom": "u-boot-nodelay.rom",
    "parts": {"A": $UBOOT_PART_A, "B": $UBOOT_PART_B, "env": $UBOOT_PART_ENV, "data": $UBOOT_PART_DATA},
    "partStart": {"A": $(part_start "$dir/uboot.img" "$UBOOT_PART_A"), "B": $(part_start "$dir/uboot.img" "$UBOOT_PART_B")},
    "envOffsets": [$uboot_env, $((uboot_env + ENV_COPY2_OFFSET))], "envSize": $((ENV_SIZE))
  },
  "grub": {
    "disk": "grub.img",
    "parts": {"A": $GRUB_PART_A, "B": $GRUB_PART_B, "boot": 1, "data": $GRUB_PART_DATA},
    "partStart": {"A": $(part_start "$dir/grub.img" "$GRUB_PART_A"), "B": $(part_start "$dir/grub.img" "$GRUB_PART_B")},
    "bootPartOffset": $grub_boot, "grubenvPath": "/grub/grubenv"
  }
}
JSON
