# FbusVm.cmake - CMake helpers for tests that run inside a qemu VM with the vivid camera.
#
# The VM boots Debian's own kernel (which ships vivid, the kernel's virtual camera) from an
# initramfs, so every program that goes in must be statically linked for the guest's arch,
# which is the build's target arch. See tests/vm/README.md for the harness itself.
#
#   fbus_vm_arch(<var>)
#       Debian name of the target arch (amd64, arm64, armhf) in <var>, or "" if the harness
#       cannot boot one.
#   fbus_vm_static_executable(<target> [V4L2] [PNG])
#       Links <target> statically; V4L2 adds libv4l2 and the static libraries it needs, PNG
#       adds libpng16.a and zlib. A target that links PkgConfig::PNG (the shared libpng, by
#       full path to the .so) cannot be linked statically: give it PNG instead.
#   fbus_add_vm_test(<name> <arch> <script> [BINS] <bin>... [DATA <file>...] [ENV <N=V>...]
#                    [EXPECT <exported-name>...] [TIMEOUT <seconds>])
#       A ctest test (label "vm") that boots the VM for <arch>, copies the <bin>s (targets or
#       files; "file:name" renames) to /bin and the DATA files to /data, and runs the in-VM
#       <script>. It passes when the script exits 0 and every EXPECT file came out through
#       vm_export; those land in ${CMAKE_CURRENT_BINARY_DIR}/vm-out/<name>/. TIMEOUT bounds
#       the VM run (default 300 s); the one-time kernel download gets 300 s more. The test is
#       also a ctest fixture named <name>, so a host-side check of the exported files can
#       declare FIXTURES_REQUIRED <name>.
#
# Adding a VM test takes a static build and a script, e.g.:
#   add_executable(fbus-capture-vm ...)
#   fbus_vm_static_executable(fbus-capture-vm V4L2)
#   fbus_add_vm_test(vm_capture_${FBUS_VM_ARCH} ${FBUS_VM_ARCH} ${CMAKE_CURRENT_SOURCE_DIR}/capture.sh
#                    fbus-capture-vm:fbus-capture EXPECT frame.png)

set(FBUS_VM_DIR ${CMAKE_CURRENT_LIST_DIR})

# The kernel cache: ~400 MB per arch, downloaded once. CI can share one across build trees by
# exporting FBUS_VM_CACHE before configuring.
if(NOT "$ENV{FBUS_VM_CACHE}" STREQUAL "")
    set(FBUS_VM_CACHE "$ENV{FBUS_VM_CACHE}")
else()
    set(FBUS_VM_CACHE "${CMAKE_BINARY_DIR}/vm-cache")
endif()

function(fbus_vm_arch var)
    set(p "${CMAKE_SYSTEM_PROCESSOR}")
    if(p MATCHES "^(x86_64|AMD64|amd64)$")
        set(${var} amd64 PARENT_SCOPE)
    elseif(p MATCHES "^(aarch64|arm64)$")
        set(${var} arm64 PARENT_SCOPE)
    elseif(p MATCHES "^arm")
        set(${var} armhf PARENT_SCOPE)
    else()
        set(${var} "" PARENT_SCOPE)
    endif()
endfunction()

# libv4l2 linked statically: libv4lconvert needs libjpeg, and both use dlopen and threads.
if(NOT TARGET fbus_vm_v4l2_static)
    add_library(fbus_vm_v4l2_static INTERFACE)
    target_link_libraries(fbus_vm_v4l2_static INTERFACE v4l2 v4lconvert jpeg m dl)
    target_link_options(fbus_vm_v4l2_static INTERFACE -pthread)
endif()
if(NOT TARGET fbus_vm_png_static)
    add_library(fbus_vm_png_static INTERFACE)
    target_link_libraries(fbus_vm_png_static INTERFACE png16 z m)
endif()

function(fbus_vm_static_executable target)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "V4L2;PNG" "" "")
    # Sanitizer runtimes cannot be linked statically: drop what the build options added.
    foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
        get_target_property(opts ${target} ${prop})
        if(opts)
            list(FILTER opts EXCLUDE REGEX "^-f(no-)?sanitize")
            set_target_properties(${target} PROPERTIES ${prop} "${opts}")
        endif()
    endforeach()
    target_link_options(${target} PRIVATE -static)
    if(ARG_V4L2)
        target_link_libraries(${target} PRIVATE fbus_vm_v4l2_static)
    endif()
    if(ARG_PNG)
        target_link_libraries(${target} PRIVATE fbus_vm_png_static)
    endif()
endfunction()

function(fbus_add_vm_test name arch script)
    cmake_parse_arguments(PARSE_ARGV 3 ARG "" "TIMEOUT" "BINS;DATA;ENV;EXPECT")
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 300)
    endif()
    set(args --arch ${arch} --cache ${FBUS_VM_CACHE}
             --out ${CMAKE_CURRENT_BINARY_DIR}/vm-out/${name} --script ${script}
             --timeout ${ARG_TIMEOUT})
    foreach(bin ${ARG_BINS} ${ARG_UNPARSED_ARGUMENTS})
        # "target:name" or "file:name" installs the program as /bin/name in the VM.
        set(rename "")
        if(bin MATCHES "^([^:]+):([A-Za-z0-9._+-]+)$" AND NOT EXISTS "${bin}")
            set(bin ${CMAKE_MATCH_1})
            set(rename ":${CMAKE_MATCH_2}")
        endif()
        if(TARGET ${bin})
            list(APPEND args --bin "$<TARGET_FILE:${bin}>${rename}")
        else()
            list(APPEND args --bin "${bin}${rename}")
        endif()
    endforeach()
    foreach(file ${ARG_DATA})
        list(APPEND args --data ${file})
    endforeach()
    foreach(env ${ARG_ENV})
        list(APPEND args --env ${env})
    endforeach()
    foreach(file ${ARG_EXPECT})
        list(APPEND args --expect ${file})
    endforeach()
    add_test(NAME ${name} COMMAND ${FBUS_VM_DIR}/run-vm.sh ${args})
    math(EXPR ctest_timeout "${ARG_TIMEOUT} + 300")
    # PROCESSORS 2: the guest has two vCPUs, each a busy host thread under emulation.
    set_tests_properties(${name} PROPERTIES LABELS vm TIMEOUT ${ctest_timeout} PROCESSORS 2
                                            FIXTURES_SETUP ${name})
endfunction()
