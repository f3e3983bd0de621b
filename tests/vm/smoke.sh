#!/bin/sh
# smoke.sh - in-VM script of the harness self-test (run by busybox sh inside the test VM).
# Checks that vivid came up as /dev/video0, that a static libv4l2 program can grab a frame, and
# that vm_export gets a file back to the host (run-vm.sh --expect frame.ppm checks it arrived).
# shellcheck source=/dev/null # made by build-initramfs.sh
. /etc/fbusvm.sh
set -e
ls -l /dev/video0
vm-smoke /dev/video0 /tmp/frame.ppm
vm_export /tmp/frame.ppm
