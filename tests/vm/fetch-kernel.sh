#!/bin/bash
# fetch-kernel.sh - put Debian's own kernel and a static busybox for a VM guest in a cache.
#
# usage: fetch-kernel.sh ARCH CACHE_DIR        ARCH = amd64 | arm64 | armhf
#
# Downloads (apt-get download; nothing is installed) the linux-image package the metapackage
# linux-image-<flavour> points at and busybox-static for ARCH, unpacks them with dpkg -x into
# CACHE_DIR/ARCH/, runs depmod there, and writes CACHE_DIR/ARCH/kernel.env last. When that file
# exists the cache is complete and the script does nothing, so the ~70 MB download happens once
# per cache dir. Prints the path of kernel.env on stdout; progress goes to stderr.
#
# A foreign ARCH needs its package lists: as root the script runs
# `dpkg --add-architecture ARCH && apt-get update` when (and only when) they are missing.
# That adds lists only; no foreign package is ever installed on the host.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source=tests/vm/vm-lib.sh
. "$HERE/vm-lib.sh"

[ $# -eq 2 ] || fbusvm_die "usage: $0 amd64|arm64|armhf CACHE_DIR"
ARCH=$1
case $ARCH in
amd64) FLAVOUR=amd64 ;;
arm64) FLAVOUR=arm64 ;;
armhf) FLAVOUR=armmp-lpae ;; # LPAE: qemu's virt machine puts RAM above 4 GiB only with it
*) fbusvm_die "unknown arch '$ARCH' (use amd64, arm64 or armhf)" ;;
esac
mkdir -p "$2/$ARCH"
DIR=$(readlink -f "$2/$ARCH")
ENV_FILE=$DIR/kernel.env

# A cache is complete when kernel.env exists and the files it names are there.
cache_complete() {
    [ -f "$ENV_FILE" ] || return 1
    (
        # shellcheck source=/dev/null # written below
        . "$ENV_FILE"
        [ -f "$DIR/$FBUSVM_KERNEL" ] && [ -x "$DIR/$FBUSVM_BUSYBOX" ] &&
            [ -f "$DIR/$FBUSVM_MODROOT/lib/modules/$FBUSVM_KVER/modules.dep" ]
    )
}

# Lists for ARCH are needed by apt-get download; foreign arches must be enabled first.
ensure_lists() {
    local meta=$1 update=0
    if [ "$ARCH" != "$(dpkg --print-architecture)" ] &&
        ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
        [ "$(id -u)" = 0 ] ||
            fbusvm_die "arch $ARCH is not enabled: run 'sudo dpkg --add-architecture $ARCH &&" \
                "sudo apt-get update' once"
        fbusvm_log "enabling foreign arch $ARCH (package lists only)"
        dpkg --add-architecture "$ARCH"
        update=1
    fi
    apt-cache show "$meta" >/dev/null 2>&1 || update=1
    if [ $update = 1 ]; then
        [ "$(id -u)" = 0 ] || fbusvm_die "no package lists for $meta: run 'sudo apt-get update'"
        fbusvm_log "apt-get update"
        fbusvm_apt update >&2 || fbusvm_log "apt-get update reported errors; trying anyway"
    fi
    apt-cache show "$meta" >/dev/null 2>&1 ||
        fbusvm_die "package $meta not found in the apt lists (is this Debian 12 with main enabled?)"
}

# The versioned package behind the metapackage, e.g. linux-image-6.1.0-56-arm64:arm64.
kernel_package() {
    local pkg
    pkg=$(apt-cache depends "$1" | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || fbusvm_die "cannot tell which kernel $1 depends on (apt-cache depends $1)"
    echo "${pkg%%:*}:$ARCH"
}

download() {
    local opts=()
    # As root apt downloads as user _apt, who cannot write to most build trees: it would warn.
    [ "$(id -u)" = 0 ] && opts=(-o APT::Sandbox::User=root)
    (cd "$DIR/dl" && apt-get -q "${opts[@]}" download "$@" >&2) ||
        fbusvm_die "apt-get download $* failed (network? apt-get update?)"
}

# Debian's amd64 bzImage wraps an XZ-compressed ELF vmlinux. qemu boots the ELF directly through
# its PVH entry point, which skips the real-mode setup and decompression: ~3 s less under TCG.
extract_vmlinux() {
    local vmlinuz=$1 out=$2 off
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1) || true
    [ -n "$off" ] || return 1
    # xz stops reading after the first stream; the SIGPIPE that tail then gets is expected.
    { tail -c +$((off + 1)) "$vmlinuz" || true; } | xz -dc --single-stream >"$out.tmp" 2>/dev/null &&
        [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] &&
        mv "$out.tmp" "$out" && return 0
    rm -f "$out.tmp"
    return 1
}

fetch() {
    local meta=linux-image-$FLAVOUR:$ARCH pkg kver kernel
    fbusvm_need depmod kmod
    fbusvm_need xz xz-utils
    ensure_lists "$meta"
    pkg=$(kernel_package "$meta")
    fbusvm_log "downloading $pkg and busybox-static:$ARCH into $DIR"
    rm -rf "$DIR/dl" "$DIR/kernel" "$DIR/busybox" "$DIR"/vmlinux-*
    mkdir -p "$DIR/dl"
    download "$pkg" "busybox-static:$ARCH"
    dpkg -x "$DIR"/dl/linux-image-*.deb "$DIR/kernel"
    dpkg -x "$DIR"/dl/busybox-static_*.deb "$DIR/busybox"
    kver=$(ls "$DIR/kernel/lib/modules")
    [ "$(echo "$kver" | wc -l)" = 1 ] || fbusvm_die "expected one kernel in $pkg, found: $kver"
    depmod -b "$DIR/kernel" "$kver"
    kernel=kernel/boot/vmlinuz-$kver
    if [ "$ARCH" = amd64 ] && extract_vmlinux "$DIR/$kernel" "$DIR/vmlinux-$kver"; then
        kernel=vmlinux-$kver
    fi
    rm -rf "$DIR/dl"
    cat >"$ENV_FILE.tmp" <<EOF
# Written by fetch-kernel.sh; paths are relative to this file's directory.
FBUSVM_ARCH=$ARCH
FBUSVM_KPKG=${pkg%%:*}
FBUSVM_KVER=$kver
FBUSVM_KERNEL=$kernel
FBUSVM_MODROOT=kernel
FBUSVM_BUSYBOX=busybox/bin/busybox
EOF
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    fbusvm_log "cached $pkg ($kver) in $DIR"
}

# Two VM tests of the same arch may start together (ctest -j): one downloads, the other waits.
exec 9>"$DIR/.lock"
flock -w 1800 9 || fbusvm_die "timed out waiting for another fetch into $DIR"
cache_complete || fetch
cache_complete || fbusvm_die "cache $DIR is incomplete after fetching"
echo "$ENV_FILE"
