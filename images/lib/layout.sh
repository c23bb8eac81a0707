# The two disk layouts the system tests boot; the harness reads the same numbers from the build's manifest.json.
# Sizes in MiB. The U-Boot disk is GPT, the GRUB BIOS disk is MBR (core.img sits in the post-MBR gap, no patching).
SLOT_MIB=${ABU_IMAGES_SLOT_MIB:-192}
BOOT_MIB=8
ENV_MIB=1
DATA_MIB=16
# U-Boot env: redundant, two 16 KiB copies at the start of the uboot-env partition (fw_env.config lines).
ENV_SIZE=0x4000
ENV_COPY2_OFFSET=0x4000

# U-Boot GPT partitions: 1 boot (FAT, boot.scr), 2 uboot-env (raw), 3 rootfs-A, 4 rootfs-B, 5 abu-data.
UBOOT_PART_A=3 UBOOT_PART_B=4 UBOOT_PART_ENV=2 UBOOT_PART_DATA=5
# GRUB MBR partitions: 1 boot (FAT, grub.cfg + grubenv), 2 rootfs-A, 3 rootfs-B, 4 abu-data.
GRUB_PART_A=2 GRUB_PART_B=3 GRUB_PART_DATA=4
