# arm-linux-gnueabihf.cmake - CMake toolchain file: 32-bit ARM Linux with hard float (Raspberry
# Pi OS 32-bit, i.MX 6/7, Rockchip RK3288...; ARMv7-A and up, Debian armhf) built with Debian's
# cross compiler, tests run under qemu-arm.
#
#   apt-get install crossbuild-essential-armhf qemu-user cmake pkg-config googletest
#   scripts/cross-sysroot armhf build-cross-armhf/sysroot
#   cmake -S . -B build-cross-armhf -DCMAKE_TOOLCHAIN_FILE=cross/arm-linux-gnueabihf.cmake \
#         -DFBUS_SYSROOT=$PWD/build-cross-armhf/sysroot
#
# (scripts/cross-test armhf does all of it.) Debian's armhf is ARMv7: a Raspberry Pi 1 or Zero
# (ARMv6) needs Raspberry Pi OS's own toolchain. Under qemu-arm, shmat() with a non-NULL
# address fails with EINVAL (a qemu-user bug): framebus always attaches at NULL.
set(FBUS_CROSS_TRIPLE arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(FBUS_QEMU_USER qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
