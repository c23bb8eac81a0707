# Stages the tree every slot image shares: busybox, the host's node plus its ldd libraries, abu, kernel and initramfs.
# usage: rootfs-base.sh <repo> <kernel-tree> <initrd.img> <public-key.pub> <stage-dir>
. "$(dirname "$0")/common.sh"
repo=$1 ktree=$2 initrd=$3 pubkey=$4 stage=$5
here=$(cd "$(dirname "$0")/.." && pwd)
need_tool strip binutils

rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,data,root,boot/env,etc/abu,opt/abu,usr/lib/abu,mnt/bundle}
cp /bin/busybox "$stage/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"; done

# The host's node runs unchanged in the guest (qemu-node-guest.md); a stripped copy is 13 MB smaller.
node_bin=$(readlink -f "$(command -v node)")
strip -o "$stage/usr/bin/node" "$node_bin"
# The addon's own libraries too (libzstd for compressed bundles): node does not link them.
addon="$repo/build/Release/abu_native.node"
for lib in $( { ldd "$node_bin"; [ ! -f "$addon" ] || ldd "$addon"; } | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\s*\(\/[^ ]*\) (.*/\1/p' | sort -u); do
  soname_dir=$(dirname "$lib")
  mkdir -p "$stage$soname_dir"
  cp -L "$lib" "$stage$lib"
done
# ldd names libs under /lib (usrmerge); the loader's own path must exist as written in the binary.
[ -e "$stage/lib64" ] || { mkdir -p "$stage/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"; }

stage_abu "$repo" "$stage/opt/abu"
# Which commands this abu has (boot-check, serve), so the guest init needs no extra node start to find out.
node "$repo/bin/abu" help > "$stage/opt/abu/commands.txt" 2>&1 || true
cat > "$stage/usr/bin/abu" <<'SH'
#!/bin/sh
exec /usr/bin/node /opt/abu/bin/abu "$@"
SH
chmod 0755 "$stage/usr/bin/abu"

kimg=$(ls "$ktree"/boot/vmlinuz-* | head -n1)
cp "$kimg" "$stage/boot/vmlinuz"
cp "$initrd" "$stage/boot/initrd.img"
install -m 0755 "$here/guest/slot-init" "$stage/sbin/init"
install -m 0755 "$here/guest/health-check" "$stage/usr/lib/abu/health-check"
# One config per disk layout; the init links the right one to /etc/abu/config.json (via /run) at boot.
cp "$here/guest/abu-uboot.json" "$stage/etc/abu/uboot.json"
cp "$here/guest/abu-grub.json" "$stage/etc/abu/grub.json"
cp "$here/guest/fw_env.config" "$stage/etc/abu/fw_env.config"
mkdir -p "$stage/etc/abu/keys"
cp "$pubkey" "$stage/etc/abu/keys/system-test.pub"
ln -s /run/abu/config.json "$stage/etc/abu/config.json"
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
