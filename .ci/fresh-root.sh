#!/usr/bin/env bash
# Makes a fresh Debian 12 root as a new user's machine is in the README's terms:
#   debootstrap --variant=minbase bookworm, plus only python3 git ca-certificates sudo.
# Copies in only the host's package-registry settings (CA bundle, pip/apt proxy settings,
# resolv.conf) — not the product's. Mounts proc/sys/dev for Qt, Xvfb and multiprocessing.
#   bash .ci/fresh-root.sh ROOT          # create (if missing) and mount
#   bash .ci/fresh-root.sh ROOT --new    # throw away any old root first, then create and mount
#   bash .ci/fresh-root.sh ROOT --umount # unmount
set -euo pipefail
root=${1:?usage: fresh-root.sh ROOT [--umount]}
mounts=(proc sys dev)
if [ "${2:-}" = "--umount" ]; then
  for ((i=${#mounts[@]}-1; i>=0; i--)); do
    if mountpoint -q "$root/${mounts[$i]}"; then umount -R -l "$root/${mounts[$i]}"; fi
  done
  exit 0
fi
if [ "${2:-}" = "--new" ] && [ -e "$root" ]; then
  bash "$0" "$root" --umount
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-root: $root still has mounts; not removing it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -x "$root/usr/bin/python3" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  grep -q " $root/" /proc/mounts && { echo "fresh-root: $root has mounts" >&2; exit 1; }
  rm -rf --one-file-system "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
fi
# The host's registry settings only: CA bundle (TLS-inspecting proxies), resolv.conf, apt's and
# pip's proxy/index settings where the host has them.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# what the Debian installer writes and debootstrap does not: a machine knows its own localhost
if [ ! -s "$root/etc/hosts" ]; then
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
fi
for f in /etc/apt/apt.conf.d/*proxy* /etc/pip.conf; do
  [ -f "$f" ] && cp "$f" "$root$f"
done
mount_all() {
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
  if ! mountpoint -q "$root/dev"; then
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"  # nothing mounted inside propagates back to the host
  fi
}
mount_all
if [ ! -x "$root/usr/bin/git" ] || [ ! -x "$root/usr/bin/sudo" ]; then
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 git ca-certificates sudo >/dev/null'
fi
# after ca-certificates: the host's bundle (it may hold a proxy's CA) replaces the stock one
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
echo "fresh root ready: $root ($(chroot "$root" python3 --version))"
