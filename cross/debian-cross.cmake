# debian-cross.cmake - the common part of cross/<triple>.cmake: Debian's cross compilers
# (crossbuild-essential-<arch>), target libraries from a sysroot or from multiarch packages, and
# qemu-user to run the target's test programs. Included by the per-target files, which set
# FBUS_CROSS_TRIPLE, CMAKE_SYSTEM_PROCESSOR and FBUS_QEMU_USER first.

set(CMAKE_SYSTEM_NAME Linux)
# The compilers by their Debian names; they are on PATH once crossbuild-essential-* is installed.
set(CMAKE_C_COMPILER ${FBUS_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FBUS_CROSS_TRIPLE}-g++)
# Debian's multiarch layout keeps target libraries in lib/<triple>: find_library looks there.
set(CMAKE_LIBRARY_ARCHITECTURE ${FBUS_CROSS_TRIPLE})
# ... and so do we when installing: GNUInstallDirs chooses lib/<triple> only for a native build
# with prefix /usr, so a cross build would put libframebus (and its .deb) in plain /usr/lib,
# where an armhf and an arm64 libframebus0 would collide on one board. The target's loader and
# pkg-config search lib/<triple> under /usr/local as well.
if(NOT DEFINED CMAKE_INSTALL_LIBDIR)
    set(CMAKE_INSTALL_LIBDIR lib/${FBUS_CROSS_TRIPLE} CACHE PATH
        "Object code libraries (lib/<multiarch triple>, as on Debian)")
endif()

# FBUS_SYSROOT: a tree with the target's headers and libraries (scripts/cross-sysroot makes one;
# a board's root filesystem, e.g. a mounted Raspberry Pi OS image, works too). From the cache
# (-DFBUS_SYSROOT=...) or the environment.
if(NOT FBUS_SYSROOT AND NOT "$ENV{FBUS_SYSROOT}" STREQUAL "")
    set(FBUS_SYSROOT "$ENV{FBUS_SYSROOT}")
endif()
# CMake re-reads this file for every try_compile project, which sees no cache variables
# unless they are listed here.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FBUS_SYSROOT FBUS_QEMU_LD_PREFIX FBUS_TIME64)

# FBUS_TIME64=ON: a 64-bit time_t on a 32-bit target, as armhf distributions build from
# Debian 13 on (and musl always does): glibc wants -D_TIME_BITS=64 with -D_FILE_OFFSET_BITS=64.
# Such a program shares a bus with 32-bit time_t ones (the shared layout has no time_t in it);
# scripts/cross-test --time64 armhf builds and tests it. A no-op on 64-bit targets.
if(FBUS_TIME64)
    foreach(lang C CXX)
        string(APPEND CMAKE_${lang}_FLAGS_INIT " -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64")
    endforeach()
endif()

# Programs (pkg-config, qemu, python...) always come from the build machine.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

if(FBUS_SYSROOT)
    get_filename_component(FBUS_SYSROOT "${FBUS_SYSROOT}" ABSOLUTE)
    if(NOT IS_DIRECTORY "${FBUS_SYSROOT}/usr")
        message(FATAL_ERROR "FBUS_SYSROOT=${FBUS_SYSROOT} is not a sysroot (no usr/ in it): "
                            "make one with scripts/cross-sysroot <arm64|armhf> DIR")
    endif()
    # --sysroot for compiler and linker. Debian's cross gcc still takes libc, crt files and
    # libstdc++ from /usr/<triple> (its paths are relative to its own install, not to the
    # sysroot) and adds DIR/usr/include[/<triple>] and DIR/{,usr/}lib/<triple>: so a sysroot
    # holding only the -dev packages we need is enough, and a full board image works as well.
    set(CMAKE_SYSROOT "${FBUS_SYSROOT}")
    # find_* look only inside the sysroot (and the cross libc), never in the host's /usr.
    set(CMAKE_FIND_ROOT_PATH "${FBUS_SYSROOT}" /usr/${FBUS_CROSS_TRIPLE})
    set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
    set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
    set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
    # pkg-config reads only the sysroot's .pc files and prefixes the /usr/... paths in them
    # with the sysroot, so Debian's .pc files work unchanged.
    set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FBUS_SYSROOT}")
    set(ENV{PKG_CONFIG_LIBDIR} "${FBUS_SYSROOT}/usr/lib/${FBUS_CROSS_TRIPLE}/pkgconfig:${FBUS_SYSROOT}/usr/lib/pkgconfig:${FBUS_SYSROOT}/usr/share/pkgconfig")
    set(ENV{PKG_CONFIG_PATH} "")
    # The linker must also find the libraries that shared libraries pull in: libz.so.1 for
    # libpng16.so (Debian keeps it in lib/<triple>, not usr/lib/<triple>), and libm.so.6 from
    # the cross libc, which ld would otherwise look for under the sysroot (its default
    # =/usr/<triple>/lib is sysroot-relative) and not find.
    set(FBUS_SYSROOT_LIBDIRS "${FBUS_SYSROOT}/lib/${FBUS_CROSS_TRIPLE}:${FBUS_SYSROOT}/usr/lib/${FBUS_CROSS_TRIPLE}")
    foreach(kind EXE SHARED MODULE)
        set(CMAKE_${kind}_LINKER_FLAGS_INIT
            "-Wl,-rpath-link,${FBUS_SYSROOT_LIBDIRS}:/usr/${FBUS_CROSS_TRIPLE}/lib")
    endforeach()
else()
    # No sysroot: target libraries installed as multiarch packages (libpng-dev:<arch>...).
    set(CMAKE_FIND_ROOT_PATH /usr/${FBUS_CROSS_TRIPLE})
    set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
    set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
    set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
    # BOTH would also find the host's own x86_64 libraries: hide those.
    set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
                          /usr/include/x86_64-linux-gnu)
    set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${FBUS_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
    set(ENV{PKG_CONFIG_PATH} "")
    set(FBUS_SYSROOT_LIBDIRS "")
endif()

# ctest (and gtest_discover_tests at build time) run the target's programs through qemu-user.
# -L: where qemu finds the target's dynamic loader (/lib/ld-linux-*.so.*): the cross
# toolchain's. LD_LIBRARY_PATH then makes that loader take the cross toolchain's libc.so.6
# too: were the loader paired with a foreign-arch libc6 installed through multiarch (a different
# build of glibc), forked children would spin at 100% CPU under qemu. The sysroot's library
# dirs follow, for libpng and friends; they hold no libc.
set(FBUS_QEMU_LD_PREFIX /usr/${FBUS_CROSS_TRIPLE} CACHE PATH
    "Root where qemu-user finds the target's dynamic loader and libc")
find_program(FBUS_QEMU_USER_PROGRAM ${FBUS_QEMU_USER})
if(FBUS_QEMU_USER_PROGRAM)
    set(_fbus_ld_path "${FBUS_QEMU_LD_PREFIX}/lib")
    if(FBUS_SYSROOT_LIBDIRS)
        string(APPEND _fbus_ld_path ":${FBUS_SYSROOT_LIBDIRS}")
    endif()
    # The emulator is one generated script rather than the list "qemu;-L;...;-E;...": the test
    # suite hands the emulator to its programs as one compile definition, and a CMake list
    # would be split into several there. One path is also simpler to exec from a test.
    set(_fbus_run "${CMAKE_BINARY_DIR}/${FBUS_QEMU_USER}-run")
    file(WRITE "${_fbus_run}"
         "#!/bin/sh\n"
         "# Generated by cross/debian-cross.cmake: runs one ${FBUS_CROSS_TRIPLE} program.\n"
         "exec '${FBUS_QEMU_USER_PROGRAM}' -L '${FBUS_QEMU_LD_PREFIX}' \\\n"
         "    -E 'LD_LIBRARY_PATH=${_fbus_ld_path}' \"$@\"\n")
    execute_process(COMMAND chmod 755 "${_fbus_run}")
    set(CMAKE_CROSSCOMPILING_EMULATOR "${_fbus_run}")
elseif(NOT DEFINED FBUS_TESTS OR FBUS_TESTS)
    # Without an emulator the test programs cannot even be listed (gtest_discover_tests).
    message(FATAL_ERROR "${FBUS_QEMU_USER} not found: apt-get install qemu-user, "
                        "or configure with -DFBUS_TESTS=OFF")
endif()
