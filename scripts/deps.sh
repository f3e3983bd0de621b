# deps.sh - sourced by the scripts: installs the Debian packages a step needs,
# only those missing. As root it runs apt-get; otherwise sudo, if there is one.
#   fbus_need core test vm view bench
# Groups:
#   core  compiler, CMake, libpng, libv4l2 (the library, fbus, fbus-capture)
#   test  GoogleTest
#   view  SDL2, and Xvfb + xwd + ImageMagick for the window tests
#   vm    qemu and what the vivid VM test needs to build its initramfs
#   bench GStreamer's shm elements and gnuplot, for scripts/bench

fbus_pkgs_core="build-essential cmake pkg-config libpng-dev zlib1g-dev libv4l-dev libjpeg62-turbo-dev"
fbus_pkgs_test="googletest libgtest-dev"
fbus_pkgs_view="libsdl2-dev xvfb x11-apps imagemagick"
fbus_pkgs_vm="qemu-system-x86 qemu-system-arm busybox-static kmod cpio xz-utils python3"
fbus_pkgs_bench="gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-bad gnuplot-nox"

fbus_need() {
    local missing="" group pkg
    for group in "$@"; do
        eval "list=\$fbus_pkgs_$group"
        for pkg in $list; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
                missing="$missing $pkg"
        done
    done
    [ -z "$missing" ] && return 0
    echo "framebus: installing:$missing" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null; then
            sudo="sudo"
        else
            echo "framebus: not root and no sudo; install these first: apt-get install$missing" >&2
            return 1
        fi
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}
