# deps.sh - sourced by the scripts: installs the Debian packages a step needs,
# only those missing. As root it runs apt-get; otherwise sudo, if there is one.
#   fbus_need core test vm view bench
# Groups:
#   core  compiler, CMake, libpng, libv4l2 (the library, fbus, fbus-capture)
#   test  GoogleTest; GStreamer (the fbussrc/fbussink plugin and its pipeline tests)
#   view  SDL2, and Xvfb + xwd + ImageMagick for the window tests
#   vm    qemu and what the vivid VM test needs to build its initramfs
#   bench GStreamer's shm elements and gnuplot, for scripts/bench
#   python the Python package's build and tests: headers, numpy, pytest, OpenCV (python/)

fbus_pkgs_core="build-essential cmake pkg-config libpng-dev zlib1g-dev libv4l-dev libjpeg62-turbo-dev"
fbus_pkgs_test="googletest libgtest-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools"
fbus_pkgs_view="libsdl2-dev xvfb x11-apps imagemagick"
fbus_pkgs_vm="qemu-system-x86 qemu-system-arm busybox-static kmod cpio xz-utils python3"
fbus_pkgs_bench="gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-bad gnuplot-nox pipewire pipewire-bin gstreamer1.0-pipewire"
fbus_pkgs_python="python3-dev python3-numpy python3-pytest python3-opencv"

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
    fbus_apt "$sudo" update -qq &&
        fbus_apt "$sudo" install -y -qq --no-install-recommends $missing >&2
}

# apt-get, waiting up to 10 minutes for another apt to finish: on a machine just booted,
# apt-daily or unattended-upgrades often holds the lock ("Could not get lock ...").
fbus_apt() {
    local sudo=$1 try err
    shift
    err=$(mktemp)
    for try in $(seq 60); do
        if $sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=10 "$@" 2>"$err"; then
            rm -f "$err"
            return 0
        fi
        grep -q "Could not get lock\|Unable to lock\|Unable to acquire" "$err" || break
        [ "$try" = 1 ] && echo "framebus: another apt-get holds the lock: waiting for it" >&2
        sleep 10
    done
    cat "$err" >&2
    rm -f "$err"
    return 1
}
