# capture-vivid.sh - fbus-capture against a real V4L2 driver: vivid, in the test VM.
# Run by busybox sh inside the VM (tests/vm/run-vm.sh); registered by scripts/capture.cmake.
#
#  1. --list shows vivid, its formats, sizes and rates;
#  2. YUYV 640x480: 100 frames into a bus, checked by vm-reader (count, format, timestamps),
#     once with --slots 4 (userptr zero-copy: the driver fills the bus slots) and once with
#     --slots 2 (mmap + one copy);
#  3. RGB3 640x480 straight from the camera, and RGB3 converted by libv4lconvert from the
#     camera's YUYV: each checked by vm-reader and snapped to a PNG for the host to check;
#     SIGTERM leaves no IPC object behind;
#  4. NV12 and YU12 (planar layouts from G_FMT);
#  5. bad input on a real device: a size or format it cannot give, a busy device, a busy bus;
#  6. faults, with vivid's error-injection controls: unplug ("Disconnect") without --reconnect
#     (exit 10) and with it (the bus stays up, frames resume when vivid plugs the device back
#     in); a camera that stops delivering (every buffer dropped: poll timeout, exit 10); a frame
#     flagged as an error (dropped, counted); a fatal streaming error (--reconnect restarts the
#     stream); rmmod while streaming (refused);
#  7. CPU time per frame, from --verbose.
# What it measured goes to capture-report.txt, exported with the PNGs.
. /etc/fbusvm.sh
set -e
REPORT=/tmp/capture-report.txt
: >$REPORT

step() {
    echo
    echo "=== $*"
}

note() {
    echo "$*" | tee -a $REPORT
}

die() {
    echo "FAIL: $*"
    exit 1
}

# expect_exit CODE TEXT CMD...: CMD must exit with CODE and say TEXT on stderr.
expect_exit() {
    code=$1 text=$2
    shift 2
    rc=0
    "$@" 2>/tmp/err.txt || rc=$?
    cat /tmp/err.txt
    [ $rc = "$code" ] || die "'$*' exited $rc, not $code"
    grep -q -- "$text" /tmp/err.txt || die "'$*' did not say '$text'"
}

# wait_for FILE TEXT SECONDS: until FILE holds TEXT.
wait_for() {
    i=0
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le $(($3 * 10)) ] || { cat "$1"; die "no '$2' in $1 after $3 s"; }
        sleep 0.1
    done
}

ipc_clean() {
    [ "$(wc -l </proc/sysvipc/shm)" -le 1 ] && [ "$(wc -l </proc/sysvipc/sem)" -le 1 ] ||
        { cat /proc/sysvipc/shm /proc/sysvipc/sem; die "IPC objects left behind"; }
}

reload_vivid() {
    rmmod vivid || die "rmmod vivid failed: something still holds the device"
    grep 'vivid.ko' /etc/fbusvm-modules.sh | sh
    i=0
    while [ ! -e /dev/video0 ]; do
        i=$((i + 1))
        [ $i -le 100 ] || die "/dev/video0 did not come back after insmod"
        sleep 0.1
    done
}

# paths FILE: the capture path and CPU lines of a --verbose log, into the report.
paths() {
    grep -E 'path:|userptr|cpu:|fps$|fps \(|ahead' "$1" | sed 's/^fbus-capture: \[ *[0-9.]*\] /  /' |
        tee -a $REPORT
}

note "fbus-capture VM test: $(uname -m), kernel $(uname -r)"
fbus-capture --version | tee -a $REPORT

step "1. --list"
fbus-capture --list >/tmp/list.txt
cat /tmp/list.txt
grep -q '^/dev/video0: vivid' /tmp/list.txt || die "--list does not show vivid"
grep -q '^    YUYV' /tmp/list.txt || die "--list does not show YUYV"
grep -q '640x480: [0-9]' /tmp/list.txt || die "--list shows no rates for 640x480"
fbus-capture --list /dev/video0 >/dev/null || die "--list /dev/video0 failed"

# yuyv_100 BUS SLOTS PATH: YUYV 640x480 at 25 fps, 100 frames checked by vm-reader, taking PATH.
yuyv_100() {
    vm-reader read $1 YUYV 640x480 100 240 >/tmp/r2.txt &
    reader=$!
    fbus-capture --bus $1 --source v4l2:/dev/video0 --format YUYV --size 640x480 --fps 25 \
        --slots $2 --count 100 --keep --verbose 2>/tmp/c2.txt || { cat /tmp/c2.txt; die "capture failed"; }
    cat /tmp/c2.txt
    wait $reader || { cat /tmp/r2.txt; die "the reader's checks failed"; }
    cat /tmp/r2.txt
    grep -q "path: $3" /tmp/c2.txt || die "YUYV with --slots $2 did not take the $3 path"
    note "YUYV 640x480, --slots $2:"
    paths /tmp/c2.txt
    note "  $(cat /tmp/r2.txt)"
    fbus info $1 --json | grep -q '"published":100,' || die "the bus did not get 100 frames"
}

step "2a. YUYV 640x480, 100 frames, --slots 4: userptr zero-copy into the bus slots"
yuyv_100 cam0 4 "userptr zero-copy"
fbus snap cam0 /tmp/vivid-yuyv.png
fbus rm cam0
ipc_clean

step "2b. the same with --slots 2: mmap + one copy"
yuyv_100 cam0 2 "mmap + one copy"
grep -q "no userptr zero-copy: the driver offers USERPTR, but the bus needs --slots 3" /tmp/c2.txt ||
    die "no reason given for not taking the zero-copy path"
fbus rm cam0
ipc_clean

step "3a. RGB3 from the camera; fbus snap; SIGTERM"
fbus-capture --bus cam1 --source /dev/video0 --format RGB3 --size 640x480 --verbose \
    2>/tmp/c3.txt &
cap=$!
vm-reader read cam1 RGB3 640x480 30 180 >/tmp/r3.txt || { cat /tmp/r3.txt; die "the reader's checks failed"; }
cat /tmp/r3.txt
fbus snap cam1 /tmp/vivid-rgb3.png
kill -TERM $cap
wait $cap || die "fbus-capture did not exit 0 on SIGTERM"
cat /tmp/c3.txt
ipc_clean
grep -q 'path: mmap + one copy' /tmp/c3.txt || die "RGB3 did not take the mmap path"
note "RGB3 640x480 (camera native):"
paths /tmp/c3.txt
note "  $(cat /tmp/r3.txt)"

step "3b. RGB3 converted by libv4lconvert from the camera's YUYV"
FBUS_CAPTURE_V4L2_NATIVE=YUYV fbus-capture --bus cam2 --source /dev/video0 --format RGB3 \
    --size 640x480 --verbose 2>/tmp/c4.txt &
cap=$!
vm-reader read cam2 RGB3 640x480 30 180 >/tmp/r4.txt || { cat /tmp/r4.txt; die "the reader's checks failed"; }
cat /tmp/r4.txt
fbus snap cam2 /tmp/vivid-conv.png
kill -INT $cap
wait $cap || die "fbus-capture did not exit 0 on SIGINT"
cat /tmp/c4.txt
ipc_clean
grep -q 'path: libv4l2 conversion, YUYV -> RGB3' /tmp/c4.txt || die "no conversion path"
note "RGB3 640x480 converted from YUYV:"
paths /tmp/c4.txt
note "  $(cat /tmp/r4.txt)"

step "4. NV12 and YU12"
for f in NV12 YU12; do
    vm-reader read cam3 $f 320x180 10 120 >/tmp/r5.txt &
    reader=$!
    fbus-capture --bus cam3 --source /dev/video0 --format $f --size 320x180 --count 10 \
        --keep 2>&1 || die "$f capture failed"
    wait $reader || { cat /tmp/r5.txt; die "$f: the reader's checks failed"; }
    cat /tmp/r5.txt
    fbus rm cam3
done
ipc_clean

step "5. bad input on a real device"
expect_exit 9 "cannot deliver 123x45" fbus-capture --bus bad --source /dev/video0 --size 123x45
expect_exit 9 "cannot deliver MJPG" fbus-capture --bus bad --source /dev/video0 --format MJPG
fbus-capture --bus cam4 --source /dev/video0 --size 320x180 2>/tmp/c6.txt &
cap=$!
wait_for /tmp/c6.txt "bus 'cam4'" 60
expect_exit 9 "busy" fbus-capture --bus other --source /dev/video0 --size 320x180
expect_exit 5 "writer pid $cap is alive" fbus-capture --bus cam4 --source test
kill -TERM $cap
wait $cap
ipc_clean

step "6a. unplugged, no --reconnect: a clear message, exit 10"
# vivid's "Disconnect" control: poll and DQBUF fail with ENODEV, open too, until the last user
# closes the device; then vivid registers it again, as if plugged back in.
fbus-capture --bus cam5 --source /dev/video0 --size 320x180 --slots 4 2>/tmp/c7.txt &
cap=$!
wait_for /tmp/c7.txt "bus 'cam5'" 60
fbus wait cam5 --seq 3 --timeout 30000
vm-reader press /dev/video0 Disconnect
rc=0
wait $cap || rc=$?
cat /tmp/c7.txt
[ $rc = 10 ] || die "exit $rc after the unplug, not 10"
grep -q "the camera is gone" /tmp/c7.txt || die "no unplug message"
ipc_clean

step "6b. unplugged with --reconnect: the bus stays up, frames come back after replug"
published() {
    fbus info cam6 --json | sed -n 's/.*"published":\([0-9]*\),.*/\1/p'
}
fbus-capture --bus cam6 --source /dev/video0 --size 320x180 --slots 4 --reconnect --verbose \
    2>/tmp/c8.txt &
cap=$!
vm-reader read cam6 YUYV 320x180 60 300 >/tmp/r8.txt &
reader=$!
wait_for /tmp/c8.txt "bus 'cam6'" 60
fbus wait cam6 --seq 10 --timeout 60000
vm-reader press /dev/video0 Disconnect 5 &
holder=$!
wait_for /tmp/c8.txt "retrying the source every second" 30
n1=$(published)
sleep 2
n2=$(published)
fbus info cam6 | tee /tmp/i8.txt
grep -q 'alive' /tmp/i8.txt || die "the bus lost its writer while the camera was away"
[ "$n1" = "$n2" ] || die "frames published while the camera was unplugged ($n1, $n2)"
wait $holder
wait_for /tmp/c8.txt "source is back" 60
wait $reader || { cat /tmp/r8.txt /tmp/c8.txt; die "the reader did not see frames resume"; }
cat /tmp/r8.txt
kill -TERM $cap
wait $cap || die "fbus-capture did not exit 0 on SIGTERM"
cat /tmp/c8.txt
ipc_clean
note "unplug (vivid Disconnect) with --reconnect: bus kept at $n1 frames while away; after replug:"
note "  $(cat /tmp/r8.txt)"

step "6c. a camera that stops delivering: poll times out"
vm-reader controls /dev/video0 >/tmp/ctrls.txt
DROP="Percentage of Dropped Buffers" BROKEN="Inject V4L2_BUF_FLAG_ERROR"
FATAL="Inject Fatal Streaming Error"
for c in "$DROP" "$BROKEN" "$FATAL"; do
    grep -qx "$c" /tmp/ctrls.txt || { cat /tmp/ctrls.txt; die "vivid has no control '$c'"; }
done
fbus-capture --bus cam8 --source /dev/video0 --size 320x180 2>/tmp/c10.txt &
cap=$!
wait_for /tmp/c10.txt "bus 'cam8'" 60
fbus wait cam8 --seq 3 --timeout 30000
vm-reader set /dev/video0 "$DROP" 100
rc=0
wait $cap || rc=$?
cat /tmp/c10.txt
vm-reader set /dev/video0 "$DROP" 0
[ $rc = 10 ] || die "exit $rc after the camera stopped, not 10"
grep -q "no frame for 3.0 s: the camera stopped delivering" /tmp/c10.txt || die "no stall message"
ipc_clean
note "camera stopped (vivid drops every buffer): $(grep -o 'no frame for.*delivering' /tmp/c10.txt), exit 10"

step "6d. frames the driver flags as broken are dropped and counted"
fbus-capture --bus cam9 --source /dev/video0 --size 320x180 --count 20 --keep 2>/tmp/c11.txt &
cap=$!
wait_for /tmp/c11.txt "bus 'cam9'" 60
fbus wait cam9 --seq 3 --timeout 30000
vm-reader press /dev/video0 "$BROKEN"
wait $cap || die "capture with a broken frame failed"
cat /tmp/c11.txt
grep -q "dropping a broken frame" /tmp/c11.txt || die "the broken frame was not dropped"
fbus info cam9 --json | grep -q '"dropped":[1-9]' || die "the broken frame was not counted"
fbus rm cam9
ipc_clean

step "6e. a fatal streaming error with --reconnect: the stream is restarted"
fbus-capture --bus cam10 --source /dev/video0 --size 320x180 --slots 4 --reconnect \
    --verbose 2>/tmp/c12.txt &
cap=$!
wait_for /tmp/c12.txt "bus 'cam10'" 60
fbus wait cam10 --seq 5 --timeout 30000
vm-reader press /dev/video0 "$FATAL"
wait_for /tmp/c12.txt "source is back" 30
fbus wait cam10 --seq 20 --timeout 30000 || die "no frames after the restart"
kill -TERM $cap
wait $cap || die "fbus-capture did not exit 0 on SIGTERM"
cat /tmp/c12.txt
ipc_clean
note "fatal streaming error: $(grep -o 'cannot dequeue.*' /tmp/c12.txt | head -1); restarted with --reconnect"

step "6f. the driver cannot be unloaded while fbus-capture streams from it"
fbus-capture --bus cam7 --source /dev/video0 --size 320x180 2>/tmp/c9.txt &
cap=$!
wait_for /tmp/c9.txt "bus 'cam7'" 60
if rmmod vivid 2>/tmp/rm.txt; then
    note "rmmod vivid while streaming: unloaded"
else
    note "rmmod vivid while streaming: refused ($(cat /tmp/rm.txt)): the open device holds it"
fi
kill -TERM $cap
rc=0
wait $cap || rc=$?
cat /tmp/c9.txt
[ -e /dev/video0 ] || reload_vivid
ipc_clean

step "7. CPU time per frame of the test source"
for s in 640x480 1920x1080; do
    fbus-capture --bus cpu --source test --size $s --fps 1000 --count 200 --verbose 2>/tmp/c9.txt
    note "test source YUYV $s: $(grep -o 'cpu: .*' /tmp/c9.txt)"
done

step "exports"
for f in /tmp/vivid-rgb3.png /tmp/vivid-conv.png /tmp/vivid-yuyv.png; do
    vm-reader check-png $f 640x480
    vm_export $f
done
cat $REPORT
vm_export $REPORT
