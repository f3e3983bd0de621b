# capture.cmake - the fbus-capture VM test (included at the end of tests/vm/CMakeLists.txt).
#
# Static builds of fbus-capture, fbus and vm-reader go into the vivid VM, where
# capture-vivid.sh lists the camera, streams YUYV and RGB3 (and RGB3 converted by libv4lconvert
# from the camera's YUYV) into buses that vm-reader checks, snaps PNGs, tries bad input, and
# unplugs the camera (vivid's "Disconnect" control, then rmmod/insmod) under --reconnect.
# A host-side test then checks the exported PNGs are pictures of vivid's colour bars.
get_property(fbus_vm_capture_sources GLOBAL PROPERTY FBUS_CAPTURE_SOURCES)
get_property(fbus_vm_capture_v4l2 GLOBAL PROPERTY FBUS_CAPTURE_HAVE_V4L2)
if(NOT fbus_vm_capture_sources OR NOT fbus_vm_capture_v4l2 OR NOT PNG_FOUND)
    message(WARNING "VM capture test off: it needs fbus-capture with libv4l2 and libpng")
    return()
endif()

# The programs' helpers again, linked against static libpng and zlib (progs_common carries the
# shared libpng of the host build).
file(GLOB progs_common_vm_sources ${PROJECT_SOURCE_DIR}/common/*.c)
add_library(progs_common_vm STATIC ${progs_common_vm_sources})
target_compile_definitions(progs_common_vm PRIVATE _GNU_SOURCE PUBLIC FBUS_HAVE_PNG=1)
target_include_directories(progs_common_vm PUBLIC ${PROJECT_SOURCE_DIR}/common ${PNG_INCLUDE_DIRS})
target_link_libraries(progs_common_vm PUBLIC framebus_static png16 z m)

add_executable(fbus-capture-vm ${fbus_vm_capture_sources})
target_compile_definitions(fbus-capture-vm PRIVATE _GNU_SOURCE FBUS_HAVE_V4L2=1)
target_link_libraries(fbus-capture-vm PRIVATE progs_common_vm)
fbus_vm_static_executable(fbus-capture-vm V4L2)

add_executable(fbus-vm ${PROJECT_SOURCE_DIR}/bus/tools/fbus.c)
target_compile_definitions(fbus-vm PRIVATE _GNU_SOURCE)
target_link_libraries(fbus-vm PRIVATE progs_common_vm)
fbus_vm_static_executable(fbus-vm)

add_executable(vm-reader ${CMAKE_CURRENT_SOURCE_DIR}/vm-reader.c)
target_link_libraries(vm-reader PRIVATE progs_common_vm)
fbus_vm_static_executable(vm-reader)

set(fbus_vm_capture vm_capture_${FBUS_VM_ARCH})
fbus_add_vm_test(${fbus_vm_capture} ${FBUS_VM_ARCH} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/capture-vivid.sh
                 fbus-capture-vm:fbus-capture fbus-vm:fbus vm-reader
                 EXPECT vivid-rgb3.png vivid-conv.png vivid-yuyv.png capture-report.txt
                 TIMEOUT 600)
set(fbus_vm_out ${CMAKE_CURRENT_BINARY_DIR}/vm-out/${fbus_vm_capture})
foreach(png vivid-rgb3 vivid-conv vivid-yuyv)
    # A target as COMMAND: cross builds get the emulator prepended.
    add_test(NAME ${fbus_vm_capture}_${png}
             COMMAND vm-reader check-png ${fbus_vm_out}/${png}.png 640x480)
    set_tests_properties(${fbus_vm_capture}_${png} PROPERTIES LABELS vm
                         FIXTURES_REQUIRED ${fbus_vm_capture})
endforeach()
