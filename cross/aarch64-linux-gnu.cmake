# aarch64-linux-gnu.cmake - CMake toolchain file: 64-bit ARM Linux (Raspberry Pi 3/4/5 with a
# 64-bit OS, i.MX 8, Rockchip RK3399/RK35xx...) built with Debian's cross compiler, tests run
# under qemu-aarch64.
#
#   apt-get install crossbuild-essential-arm64 qemu-user cmake pkg-config googletest
#   scripts/cross-sysroot arm64 build-cross-aarch64/sysroot
#   cmake -S . -B build-cross-aarch64 -DCMAKE_TOOLCHAIN_FILE=cross/aarch64-linux-gnu.cmake \
#         -DFBUS_SYSROOT=$PWD/build-cross-aarch64/sysroot
#
# (scripts/cross-test aarch64 does all of it.) FBUS_SYSROOT may also be a board's root file
# system, or be left out when the target's -dev packages are installed through multiarch.
set(FBUS_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FBUS_QEMU_USER qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
