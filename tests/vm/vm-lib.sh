# vm-lib.sh - helpers shared by the VM harness scripts (sourced by bash, never run).
# shellcheck shell=bash
#
# Host tools are installed on demand when running as root (CI, a fresh Debian 12 machine);
# otherwise the scripts stop and print the exact apt-get line to run.

# sbin holds depmod; non-root shells often lack it in PATH.
PATH=$PATH:/usr/sbin:/sbin

fbusvm_log() {
    printf 'fbusvm: %s\n' "$*" >&2
}

fbusvm_die() {
    printf 'fbusvm: error: %s\n' "$*" >&2
    exit 1
}

# Serialise our apt calls: two VM tests started by `ctest -j` may both need `apt-get update`,
# and apt answers a held lists lock with an immediate error, not a wait.
fbusvm_apt() {
    local lock=/run/lock/fbus-apt.lock
    [ -d /run/lock ] || lock=/tmp/fbus-apt.lock
    flock -w 900 "$lock" apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

# fbusvm_need TOOL PACKAGE: make sure TOOL is on PATH, installing PACKAGE if we are root.
fbusvm_need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        fbusvm_die "'$1' not found: install it with 'sudo apt-get install $2'"
    fi
    fbusvm_log "installing $2 (provides $1)"
    local out
    if ! out=$(DEBIAN_FRONTEND=noninteractive fbusvm_apt install -y --no-install-recommends "$2" 2>&1); then
        printf '%s\n' "$out" >&2
        fbusvm_die "apt-get install $2 failed; run 'apt-get update' and retry"
    fi
    command -v "$1" >/dev/null 2>&1 || fbusvm_die "$2 is installed but '$1' is still missing"
}

# fbusvm_qemu_system ARCH: the qemu-system binary and its Debian package for a guest arch.
fbusvm_qemu_system() {
    case $1 in
    amd64) echo "qemu-system-x86_64 qemu-system-x86" ;;
    arm64) echo "qemu-system-aarch64 qemu-system-arm" ;;
    armhf) echo "qemu-system-arm qemu-system-arm" ;;
    *) fbusvm_die "unknown arch '$1' (use amd64, arm64 or armhf)" ;;
    esac
}
