#!/bin/sh
# Fails if the test suite left a System V object behind. Test buses are named
# "t.<pid>.<n>..." (tests/support) after the test process: one whose process is
# gone was left behind (another test run still going on this machine is not).
# Under CI=true any framebus key (0xfb......) counts, since nothing else runs there.
fbus=$1
left=$("$fbus" ls 2>/dev/null | awk 'NR > 1 && $1 ~ /^t\./ { split($1, p, "."); print $1, p[2] }' |
    while read -r name pid; do
        case $pid in *[!0-9]*|"") echo "$name" ;; *) kill -0 "$pid" 2>/dev/null || echo "$name" ;; esac
    done)
if [ -n "$left" ]; then
    echo "test buses left behind (a test crashed or was killed by its timeout):"; echo "$left"
    # Report, then clean up, so the machine stays clean whatever happened.
    for name in $left; do "$fbus" rm --force "$name" >/dev/null 2>&1; done
    exit 1
fi
if [ "${CI:-}" = true ]; then
    # /proc prints keys as signed ints: 0xfb000000..0xfbffffff is -83886080..-67108865.
    # Slot sets have no key (IPC_PRIVATE, named by their segment's header): a set of 48
    # semaphores under key 0 is one left behind.
    objs=$(awk 'NR > 1 { k = $1 + 0; if (k >= -83886080 && k <= -67108865) print FILENAME": "$0
                         else if (k == 0 && FILENAME ~ /sem$/ && $4 == 48) print FILENAME": "$0 }' \
           /proc/sysvipc/shm /proc/sysvipc/sem)
    if [ -n "$objs" ]; then
        echo "framebus IPC objects left behind:"; echo "$objs"; exit 1
    fi
fi
echo "no test IPC objects left behind"
