#!/bin/bash
# Builds (or finds in the cache) everything the system tests boot; prints the output directory, which holds manifest.json.
# usage: images/build.sh            env: ABU_IMAGES_CACHE (default <repo>/.cache/images), ABU_BOOTLOADER_CONFIG (default <repo>/bootloader-config)
# Cached by content: the key hashes these scripts, the kernel package, busybox, node, abu's build and the boot scripts.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/layout.sh"
repo=$(cd "$here/.." && pwd)
cache=${ABU_IMAGES_CACHE:-$repo/.cache/images}
blcfg=${ABU_BOOTLOADER_CONFIG:-$repo/bootloader-config}
boot_cmd=$blcfg/uboot/boot.cmd
grub_cfg=$blcfg/grub/grub.cfg
uboot_env=$blcfg/uboot/factory-env.txt; [ -f "$uboot_env" ] || uboot_env=$here/factory/uboot-env.txt
grub_env=$blcfg/grub/factory-env.txt; [ -f "$grub_env" ] || grub_env=$here/factory/grubenv.txt
uboot_rom=/usr/lib/u-boot/qemu-x86/u-boot.rom
for f in "$boot_cmd" "$grub_cfg" "$uboot_rom"; do [ -f "$f" ] || die "$f is missing"; done
# Each variant: name version kind. The failing kinds carry 1.1.0 so they stand in for a real update.
VARIANTS="good-1.0.0:1.0.0:good good-1.1.0:1.1.0:good good-1.2.0:1.2.0:good
panic-1.1.0:1.1.0:panic hang-1.1.0:1.1.0:hang unhealthy-1.1.0:1.1.0:unhealthy"

exec 9>"$cache.lock" 2>/dev/null || { mkdir -p "$(dirname "$cache")"; exec 9>"$cache.lock"; }
flock 9 # one build at a time; a second caller then finds the finished cache entry
ktree=$("$here/lib/kernel.sh" "$cache/kernel")
# The signing key of the test bundles: made once and kept, so the images stay cached across runs.
keys=$cache/keys
if [ ! -f "$keys/system-test.pub" ]; then
  mkdir -p "$keys"
  node -e "const c=require('crypto'),f=require('fs');const k=c.generateKeyPairSync('ed25519');
    f.writeFileSync(process.argv[1]+'/system-test.key',k.privateKey.export({type:'pkcs8',format:'pem'}),{mode:0o600});
    f.writeFileSync(process.argv[1]+'/system-test.pub',k.publicKey.export({type:'spki',format:'pem'}));" "$keys"
fi
key=$(hash_inputs "$here" "$ktree/boot" /bin/busybox "$(readlink -f "$(command -v node)")" \
  "$repo/dist/engine" "$repo/engine/transports/web" "$repo/dist/native" "$repo/build/Release/abu_native.node" "$repo/proto" "$repo/bin" \
  "$repo/package-lock.json" "$keys/system-test.pub" "$boot_cmd" "$grub_cfg" "$uboot_env" "$grub_env" "$uboot_rom")
out=$cache/$key
if [ -f "$out/manifest.json" ]; then echo "$out"; exit 0; fi

log "building $out"
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
t0=$(date +%s)
"$here/lib/initramfs.sh" "$ktree" "$out.tmp/initrd.img"
"$here/lib/rootfs-base.sh" "$repo" "$ktree" "$out.tmp/initrd.img" "$keys/system-test.pub" "$out.tmp/stage"
for v in $VARIANTS; do
  IFS=: read -r name version kind <<<"$v"
  "$here/lib/rootfs.sh" "$out.tmp/stage" "$version" "$kind" "$SLOT_MIB" "$out.tmp/rootfs-$name.ext4"
done
rm -rf "$out.tmp/stage"
# abu's factory record of slot A, as a factory provisions it (the guest configs use stateDir /data/abu).
mkdir -p "$out.tmp/data/abu"
node "$here/lib/factory-state.js" "$repo" "$out.tmp/data/abu" 1.0.0 "$out.tmp/rootfs-good-1.0.0.ext4"
"$here/lib/uboot-disk.sh" "$boot_cmd" "$uboot_env" "$out.tmp/rootfs-good-1.0.0.ext4" - "$out.tmp/data" "$out.tmp/uboot.img"
"$here/lib/grub-disk.sh" "$grub_cfg" "$grub_env" "$out.tmp/rootfs-good-1.0.0.ext4" - "$out.tmp/data" "$out.tmp/grub.img"
rm -rf "$out.tmp/data"
# bootdelay=2 is compiled into Debian's qemu-x86 ROM; a same-length patch saves ~2 s per boot (qemu-facts.md §4).
cp "$uboot_rom" "$out.tmp/u-boot-nodelay.rom"
sed -i 's/bootdelay=2\x00/bootdelay=0\x00/' "$out.tmp/u-boot-nodelay.rom"
cp "$ktree/boot"/vmlinuz-* "$out.tmp/vmlinuz"
cp "$keys/system-test.key" "$keys/system-test.pub" "$out.tmp/"
"$here/lib/manifest.sh" "$out.tmp" "$key" "$VARIANTS" > "$out.tmp/manifest.json"
mv "$out.tmp" "$out"
# Each build is ~1 GB apparent (sparse); keep only the two newest so a long-lived checkout does not fill the disk.
ls -dt "$cache"/[0-9a-f]*[0-9a-f] 2>/dev/null | grep -E '/[0-9a-f]{16}$' | tail -n +3 | xargs -r rm -rf
log "built in $(( $(date +%s) - t0 )) s"
echo "$out"
