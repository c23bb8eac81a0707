# abu A/B boot script for U-Boot: RAUC's scheme (BOOT_ORDER, BOOT_<slot>_LEFT in hex). Contract: ../README.md.
# Build: make -C bootloader-config (mkimage -A x86 -O linux -T script -C none -d boot.cmd boot.scr).
#
# Written for U-Boot builds without setexpr and without a native env store (Debian's qemu-x86): the env is
# a REDUNDANT pair of 16 KiB copies in a raw partition, read and written with `virtio read/write`, the copy
# chosen exactly as U-Boot's env_check_redund does, and a save writes only the copy NOT in use, with the
# next flags value, so a power cut during the save leaves the previous env intact. No arithmetic is needed:
# counters are one hex digit (1..f) decremented by table, the flags byte is incremented digit by digit.
# The save keeps only the contract variables (BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT ABU_TRYING).

# ---- board settings (images/lib/layout.sh): disk, env copies (absolute LBAs), slot partitions, tries ----
setenv abu_devnum 0
setenv abu_env_part 2
setenv abu_env_lba0 0x4800
setenv abu_env_lba1 0x4820
setenv abu_part_A 3
setenv abu_part_B 4
setenv abu_attempts 3
setenv abu_initrd_addr 0x8000000
setenv abu_args "console=ttyS0 ro panic=1"
# Scratch RAM: both copies as read, each copy re-laid as a single env for `env import -c`, the new copy.
# (Literal addresses below: 0x10000000 copy 0, 0x10004000 copy 1, 0x10010000/0x10020000 import views,
#  0x10040000 export, 0x10030000 the copy to write.)

# The copies must sit where fw_env.config says; refuse to guess if the partition moved.
part start virtio ${abu_devnum} ${abu_env_part} abu_env_start
if test "0x${abu_env_start}" != "${abu_env_lba0}"; then
  echo "ABU: env partition starts at LBA 0x${abu_env_start}, boot.cmd expects ${abu_env_lba0}; not booting"
  exit
fi
virtio read 0x10000000 ${abu_env_lba0} 0x40

# A redundant copy is crc(4) flags(1) data(0x3ffb). Copying the crc one byte up makes crc(4) data(0x3ffb)
# at +1, which `env import -c` checks as a single env; importing a dummy name only tests the CRC.
cp.b 0x10000000 0x10010000 0x4000
cp.b 0x10000000 0x10010001 4
cp.b 0x10004000 0x10020000 0x4000
cp.b 0x10004000 0x10020001 4
setenv abu_ok0 0
setenv abu_ok1 0
if env import -c 0x10010001 0x3fff abu_probe; then setenv abu_ok0 1; fi
if env import -c 0x10020001 0x3fff abu_probe; then setenv abu_ok1 1; fi

# env_check_redund: a valid copy wins; both valid -> higher flags, 255 -> 0 counts as newer, equal -> copy 0.
setenv abu_cur
if test "${abu_ok0}${abu_ok1}" = "11"; then
  setenv abu_cur 0
  if itest.b *0x10004004 -gt *0x10000004; then setenv abu_cur 1; fi
  if itest.b *0x10000004 == 0xff; then if itest.b *0x10004004 == 0; then setenv abu_cur 1; fi; fi
  if itest.b *0x10004004 == 0xff; then if itest.b *0x10000004 == 0; then setenv abu_cur 0; fi; fi
elif test "${abu_ok0}" = "1"; then
  setenv abu_cur 0
elif test "${abu_ok1}" = "1"; then
  setenv abu_cur 1
fi
if test -z "${abu_cur}"; then
  echo "ABU: no valid copy of the boot environment; not booting (restore it with fw_setenv or abu)"
  exit
fi
if test "${abu_cur}" = "0"; then
  env import -c 0x10010001 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT ABU_TRYING
  setenv abu_flags_at 0x10000004
  setenv abu_save_lba ${abu_env_lba1}
else
  env import -c 0x10020001 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT ABU_TRYING
  setenv abu_flags_at 0x10004004
  setenv abu_save_lba ${abu_env_lba0}
fi

# Pick: first slot in BOOT_ORDER whose counter is 1..f; count one try down (table, no setexpr).
setenv abu_pick 'setenv abu_slot; for s in ${BOOT_ORDER}; do if test -z "${abu_slot}"; then setenv abu_left; if test "${s}" = "A"; then setenv abu_left "${BOOT_A_LEFT}"; fi; if test "${s}" = "B"; then setenv abu_left "${BOOT_B_LEFT}"; fi; setenv abu_next; setenv abu_prev; for d in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do if test "${d}" = "${abu_left}"; then setenv abu_next "${abu_prev}"; fi; setenv abu_prev ${d}; done; if test -n "${abu_next}"; then setenv abu_slot ${s}; if test "${s}" = "A"; then setenv BOOT_A_LEFT ${abu_next}; fi; if test "${s}" = "B"; then setenv BOOT_B_LEFT ${abu_next}; fi; fi; fi; done'
run abu_pick
setenv abu_saved 1
if test -z "${abu_slot}"; then
  # Every slot in BOOT_ORDER is out of tries: give each its tries back and pick again (RAUC's reset).
  setenv abu_saved 0
  for s in ${BOOT_ORDER}; do
    setenv abu_saved 1
    if test "${s}" = "A"; then setenv BOOT_A_LEFT ${abu_attempts}; fi
    if test "${s}" = "B"; then setenv BOOT_B_LEFT ${abu_attempts}; fi
  done
  run abu_pick
fi

# Save before booting: flags of the copy in use + 1 (two hex digits, ff wraps to 00) into the other copy.
if test "${abu_saved}" = "1"; then
  setenv abu_fh 0
  for d in 1 2 3 4 5 6 7 8 9 a b c d e f; do if itest.b *${abu_flags_at} -ge 0x${d}0; then setenv abu_fh ${d}; fi; done
  setenv abu_fl 0
  for d in 1 2 3 4 5 6 7 8 9 a b c d e f; do if itest.b *${abu_flags_at} -ge 0x${abu_fh}${d}; then setenv abu_fl ${d}; fi; done
  setenv abu_succ 'setenv abu_out; setenv abu_hit; for d in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do if test "${abu_hit}" = "1"; then setenv abu_out ${d}; setenv abu_hit 2; fi; if test "${d}" = "${abu_in}"; then if test -z "${abu_hit}"; then setenv abu_hit 1; fi; fi; done'
  setenv abu_in ${abu_fl}
  run abu_succ
  setenv abu_nl ${abu_out}
  setenv abu_nh ${abu_fh}
  if test -z "${abu_nl}"; then
    setenv abu_nl 0
    setenv abu_in ${abu_fh}
    run abu_succ
    setenv abu_nh ${abu_out}
    if test -z "${abu_nh}"; then setenv abu_nh 0; fi
  fi
  env export -c -s 0x3fff 0x10040001 BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT ABU_TRYING
  cp.b 0x10040001 0x10030000 4
  cp.b 0x10040005 0x10030005 0x3ffb
  mw.b 0x10030004 0x${abu_nh}${abu_nl}
  virtio write 0x10030000 ${abu_save_lba} 0x20
fi

if test -z "${abu_slot}"; then
  echo "ABU: no bootable slot (BOOT_ORDER=\"${BOOT_ORDER}\"); not booting"
  exit
fi
echo "ABU: booting slot ${abu_slot} (tries left A=${BOOT_A_LEFT} B=${BOOT_B_LEFT})"
if test "${abu_slot}" = "A"; then setenv abu_part ${abu_part_A}; fi
if test "${abu_slot}" = "B"; then setenv abu_part ${abu_part_B}; fi
setenv bootargs "${abu_args} root=/dev/vda${abu_part} abu.slot=${abu_slot}"
load virtio ${abu_devnum}:${abu_part} ${kernel_addr_r} /boot/vmlinuz
load virtio ${abu_devnum}:${abu_part} ${abu_initrd_addr} /boot/initrd.img
zboot ${kernel_addr_r} 0 ${abu_initrd_addr} ${filesize}
echo "ABU: slot ${abu_slot} did not start (kernel or initrd missing?)"
