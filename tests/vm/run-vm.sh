#!/bin/bash
# run-vm.sh - boot Debian's kernel with the vivid camera under qemu and run one in-VM test script.
#
# usage: run-vm.sh --arch amd64|arm64|armhf --cache DIR --out DIR --script FILE
#                  [--bin FILE]... [--data FILE]... [--env NAME=VALUE]...
#                  [--module 'NAME [PARAM=VALUE...]']... [--expect NAME]... [--timeout SECONDS]
#
# Fetches the kernel into --cache (once; see fetch-kernel.sh), packs an initramfs with the
# script, the static --bin programs and the --data files (see build-initramfs.sh), boots it
# headless under software emulation with the serial console in DIR/serial.log, and decodes every
# file the script sent with vm_export into --out DIR. Exits 0 only if the VM printed
# `FBUSVM-RESULT rc=0`, every export arrived intact and every --expect NAME was exported;
# otherwise prints the serial log and exits 1. The timeout (default 300 s) covers the boot, the
# script and the power-off, not the one-time kernel download.
#
# Environment: FBUSVM_ACCEL=tcg (default) or kvm; FBUSVM_MEM (MiB, default 512);
# FBUSVM_SMP (default 2); FBUSVM_CPU (default max / cortex-a57 / cortex-a15).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source=tests/vm/vm-lib.sh
. "$HERE/vm-lib.sh"

ARCH="" CACHE="" OUT="" SCRIPT="" TIMEOUT=300 PASS=() EXPECT=()
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || fbusvm_die "option $1 needs a value"
    case $1 in
    --arch) ARCH=$2 ;;
    --cache) CACHE=$2 ;;
    --out) OUT=$2 ;;
    --script) SCRIPT=$2 ;;
    --timeout) TIMEOUT=$2 ;;
    --expect) EXPECT+=("$2") ;;
    --bin | --data | --env | --module) PASS+=("$1" "$2") ;;
    *) fbusvm_die "unknown option $1 (see the header of $0)" ;;
    esac
    shift 2
done
[ -n "$ARCH" ] && [ -n "$CACHE" ] && [ -n "$OUT" ] && [ -n "$SCRIPT" ] ||
    fbusvm_die "usage: $0 --arch amd64|arm64|armhf --cache DIR --out DIR --script FILE [--bin FILE]..."
[[ $TIMEOUT =~ ^[0-9]+$ ]] || fbusvm_die "--timeout wants seconds, got '$TIMEOUT'"
read -r QEMU QEMU_PKG <<<"$(fbusvm_qemu_system "$ARCH")"
fbusvm_need "$QEMU" "$QEMU_PKG"
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
LOG=$OUT/serial.log

# The qemu command line for ARCH: machine, CPU and the console device the kernel must use.
qemu_command() {
    local accel=${FBUSVM_ACCEL:-tcg} append="quiet loglevel=3 panic=-1 rdinit=/init"
    # Software emulation by default: nested KVM fails to boot guests on many CI hosts.
    case $ARCH in
    amd64)
        local cpu=${FBUSVM_CPU:-max}
        [ "$accel" = kvm ] && cpu=${FBUSVM_CPU:-host}
        CMD=("$QEMU" -machine q35 -cpu "$cpu" -append "console=ttyS0 $append")
        ;;
    arm64)
        CMD=("$QEMU" -machine virt -cpu "${FBUSVM_CPU:-cortex-a57}"
            -append "console=ttyAMA0 $append")
        ;;
    armhf)
        # highmem=off: the armmp-lpae kernel wants its devices below 4 GiB.
        # shellcheck disable=SC2054 # the comma belongs to qemu's -machine value
        CMD=("$QEMU" -machine virt,highmem=off -cpu "${FBUSVM_CPU:-cortex-a15}"
            -append "console=ttyAMA0 $append")
        ;;
    esac
    CMD+=(-accel "$accel" -m "${FBUSVM_MEM:-512}" -smp "${FBUSVM_SMP:-2}"
        -kernel "$KERNEL" -initrd "$OUT/initramfs.cpio.gz"
        -nographic -monitor none -serial "file:$LOG" -nic none -no-reboot)
}

# Decode every FBUSVM-EXPORT block of the log into OUT; check size and sha256 of each.
decode_exports() {
    local bad=0 name size sum got
    awk -v out="$OUT" '
        /^FBUSVM-EXPORT-BEGIN / { name = $2; file = out "/" name ".b64"; printf "" > file; next }
        /^FBUSVM-EXPORT-END / { close(file); file = ""; next }
        file != "" && /^[A-Za-z0-9+\/=]+$/ { print > file }' "$LOG.txt"
    while read -r _ name size sum; do
        if ! base64 -d "$OUT/$name.b64" >"$OUT/$name" 2>/dev/null; then
            fbusvm_log "export $name: base64 data is damaged"
            bad=1
        fi
        got=$(sha256sum "$OUT/$name" | cut -d' ' -f1)
        if [ "$(stat -c %s "$OUT/$name")" != "$size" ] || [ "$got" != "$sum" ]; then
            fbusvm_log "export $name: got $(stat -c %s "$OUT/$name") bytes sha256 $got," \
                "VM sent $size bytes sha256 $sum"
            bad=1
        else
            fbusvm_log "exported $OUT/$name ($size bytes)"
        fi
        rm -f "$OUT/$name.b64"
    done < <(grep '^FBUSVM-EXPORT-BEGIN ' "$LOG.txt" | grep -E '^[^ ]+ [A-Za-z0-9._-]+ [0-9]+ [0-9a-f]{64}$')
    return $bad
}

# The serial log with exported data folded to one line per file.
print_log() {
    echo "----- serial console ($ARCH, $LOG) -----"
    awk '/^FBUSVM-EXPORT-BEGIN / { print; skip = 1; n = 0; next }
         /^FBUSVM-EXPORT-END / { print "  [" n " lines of base64]"; skip = 0 }
         skip { n++; next } { print }' "$LOG.txt"
    echo "----- end of serial console -----"
}

check_result() {
    local ok=1 name rc
    rc=$(sed -n 's/^FBUSVM-RESULT rc=\([0-9]*\).*/\1/p' "$LOG.txt" | tail -1)
    if [ -z "$rc" ]; then
        fbusvm_log "the VM did not finish the script (qemu exit $QRC$([ $QRC = 124 ] &&
            echo ", timed out after ${TIMEOUT}s"); see the log above)"
        ok=0
    elif [ "$rc" != 0 ]; then
        fbusvm_log "the in-VM script $SCRIPT failed with status $rc"
        ok=0
    fi
    decode_exports || ok=0
    for name in ${EXPECT[@]+"${EXPECT[@]}"}; do
        [ -f "$OUT/$name" ] || {
            fbusvm_log "the script did not export $name"
            ok=0
        }
    done
    [ $ok = 1 ]
}

KENV=$("$HERE/fetch-kernel.sh" "$ARCH" "$CACHE" | tail -1)
# shellcheck source=/dev/null # kernel.env, written by fetch-kernel.sh
. "$KENV"
KERNEL=$(dirname "$KENV")/$FBUSVM_KERNEL
"$HERE/build-initramfs.sh" --kernel-env "$KENV" --script "$SCRIPT" \
    --out "$OUT/initramfs.cpio.gz" ${PASS[@]+"${PASS[@]}"}
rm -f "$LOG" "$LOG.txt" ${EXPECT[@]+"${EXPECT[@]/#/$OUT/}"}
qemu_command
fbusvm_log "booting: ${CMD[*]}"
T0=$(date +%s.%N)
QRC=0
timeout -k 10 "$TIMEOUT" "${CMD[@]}" </dev/null || QRC=$?
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
touch "$LOG"
tr -d '\r' <"$LOG" >"$LOG.txt"
print_log >&2
BOOTED=$(sed -n 's/^.*FBUSVM-BOOTED uptime=\([0-9.]*\).*/\1/p' "$LOG.txt")
UPTIME=$(sed -n 's/^FBUSVM-RESULT .*uptime=\([0-9.]*\).*/\1/p' "$LOG.txt")
fbusvm_log "arch=$ARCH wall=${WALL}s (qemu start to exit) guest: init at ${BOOTED:-?}s," \
    "script done at ${UPTIME:-?}s"
if check_result; then
    fbusvm_log "PASS $(basename "$SCRIPT") on $ARCH"
    exit 0
fi
fbusvm_log "FAIL $(basename "$SCRIPT") on $ARCH"
exit 1
