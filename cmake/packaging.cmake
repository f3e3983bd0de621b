# Installation and packaging: the exported CMake package (framebus::framebus), framebus.pc,
# and CPack .deb packages per architecture: libframebus<ABI> (library), framebus-tools (fbus,
# fbus-capture, fbus-view) and libframebus-dev (headers, static library, CMake and pkg-config).
include(CMakePackageConfigHelpers)

set(FBUS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/framebus)
install(EXPORT framebusTargets NAMESPACE framebus:: DESTINATION ${FBUS_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/framebusConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/framebusConfig.cmake
                              INSTALL_DESTINATION ${FBUS_CMAKE_DIR})
# The first version of each ABI (FBUS_ABI in framebus.h): find_package(framebus X.Y) accepts
# versions from there on (cmake/framebusConfigVersion.cmake.in says why no basic one fits).
set(FBUS_ABI_SINCE_1 0.2.0)
if(NOT DEFINED FBUS_ABI_SINCE_${FBUS_ABI})
    message(FATAL_ERROR "FBUS_ABI ${FBUS_ABI} is new: add set(FBUS_ABI_SINCE_${FBUS_ABI} "
                        "${PROJECT_VERSION}) to cmake/packaging.cmake")
endif()
set(FBUS_ABI_SINCE ${FBUS_ABI_SINCE_${FBUS_ABI}})
configure_file(${CMAKE_CURRENT_LIST_DIR}/framebusConfigVersion.cmake.in
               ${CMAKE_CURRENT_BINARY_DIR}/framebusConfigVersion.cmake @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/framebusConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/framebusConfigVersion.cmake
        DESTINATION ${FBUS_CMAKE_DIR} COMPONENT dev)

# The .pc file finds the prefix from its own place, so an installed tree can be moved
# (a sysroot, a staging dir, `cmake --install --prefix` after configure).
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
    set(FBUS_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
    set(FBUS_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
else()
    file(RELATIVE_PATH up /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
    set(FBUS_PC_PREFIX "\${pcfiledir}/${up}")
    set(FBUS_PC_LIBDIR "\${exec_prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
    set(FBUS_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
    set(FBUS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/framebus.pc.in ${CMAKE_CURRENT_BINARY_DIR}/framebus.pc
               @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/framebus.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# --- CPack: one .deb per component, named the Debian way, for the target architecture.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME framebus)
set(CPACK_PACKAGE_VENDOR "framebus")
set(CPACK_PACKAGE_CONTACT "framebus developers <framebus@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Shared-memory image frame bus for embedded Linux")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF) # dpkg-shlibdeps cannot read foreign-arch binaries
set(CPACK_COMPONENTS_ALL lib tools dev)
# python3-framebus (python/, docs/python.md) where this build made the extension (not in cross
# or sanitizer builds). Its interpreter-level needs (python3, numpy) show in no ELF NEEDED entry.
get_property(fbus_python_built GLOBAL PROPERTY FBUS_PYTHON_BUILT)
if(fbus_python_built)
    list(APPEND CPACK_COMPONENTS_ALL python)
    set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-framebus)
    set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
        "libframebus${FBUS_ABI} (= ${PROJECT_VERSION}), python3 (>= 3.11), python3-numpy")
    set(CPACK_DEBIAN_PYTHON_PACKAGE_SUGGESTS "python3-opencv")
    set(CPACK_COMPONENT_PYTHON_DESCRIPTION
        "Python 3 bindings of framebus: zero-copy read-only numpy frames, a writer")
endif()
# The runtime package is named after the soname (Debian policy 8.1), so libframebus1 and a
# later libframebus2 install side by side and old programs keep their library.
set(CPACK_DEBIAN_LIB_PACKAGE_NAME libframebus${FBUS_ABI})
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME framebus-tools)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libframebus-dev)
set(CPACK_DEBIAN_LIB_PACKAGE_DEPENDS "libc6 (>= 2.32)")
# framebus-tools depends on what this build linked its programs with: a headless fbus-view (no
# SDL2, as in the ARM cross builds) must not pull SDL2 and X11 onto a board. glibc 2.34: every
# program linked with glibc >= 2.34 (Debian 12, and its cross compilers) needs
# __libc_start_main@GLIBC_2.34; the library itself needs only 2.32.
set(fbus_tools_depends "libc6 (>= 2.34)")
if(PNG_FOUND)
    string(APPEND fbus_tools_depends ", libpng16-16")
endif()
get_property(fbus_capture_v4l2 GLOBAL PROPERTY FBUS_CAPTURE_HAVE_V4L2)
if(TARGET fbus-capture AND fbus_capture_v4l2)
    string(APPEND fbus_tools_depends ", libv4l-0, libv4lconvert0")
endif()
if(TARGET fbus-view)
    get_target_property(fbus_view_libs fbus-view LINK_LIBRARIES)
    if("PkgConfig::SDL2" IN_LIST fbus_view_libs)
        string(APPEND fbus_tools_depends ", libsdl2-2.0-0")
    endif()
    if("PkgConfig::X11" IN_LIST fbus_view_libs)
        string(APPEND fbus_tools_depends ", libx11-6")
    endif()
endif()
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "${fbus_tools_depends}")
# framebus-tools does not depend on libframebus${FBUS_ABI}: its programs link libframebus.a
# (scripts/package-test fails a Depends that none of the package's files needs).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libframebus${FBUS_ABI} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_LIB_DESCRIPTION "framebus shared library")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "fbus admin tool, fbus-capture and fbus-view")
set(CPACK_COMPONENT_DEV_DESCRIPTION "framebus headers, static library, CMake and pkg-config files")
# The GStreamer plugin (fbussrc, fbussink) where this build made it: GStreamer was found.
get_property(fbus_have_gst GLOBAL PROPERTY FBUS_HAVE_GSTREAMER)
if(fbus_have_gst)
    list(APPEND CPACK_COMPONENTS_ALL gst)
    set(CPACK_DEBIAN_GST_PACKAGE_NAME gstreamer1.0-framebus)
    string(CONCAT CPACK_DEBIAN_GST_PACKAGE_DEPENDS "libc6 (>= 2.34), libglib2.0-0 (>= 2.56), "
           "libgstreamer1.0-0 (>= 1.16), libgstreamer-plugins-base1.0-0 (>= 1.16)")
    set(CPACK_COMPONENT_GST_DESCRIPTION "GStreamer elements fbussrc and fbussink for framebus")
endif()
if(CMAKE_CROSSCOMPILING)
    if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
        set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
    elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "arm")
        set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
    endif()
endif()
include(CPack)
