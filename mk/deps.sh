#!/bin/sh
# Make sure the Debian packages named on the command line are installed.
# As root, missing packages are installed with apt-get; otherwise the
# script stops with one line naming them. On a system without dpkg, or
# with PAL_NO_DEPS=1, it trusts the caller and does nothing.
#
#   sh mk/deps.sh PACKAGE...
#   sh mk/deps.sh --optional WHAT PACKAGE...
#
# With --optional, packages that are missing and cannot be installed are
# named in one line saying that WHAT is skipped, and the script succeeds.
set -eu

optional=
if [ "${1:-}" = --optional ]; then
    optional=$2
    shift 2
fi

[ "${PAL_NO_DEPS:-0}" = 1 ] && exit 0
command -v dpkg-query >/dev/null 2>&1 || exit 0

missing=
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "libpal: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has empty package lists: refresh them once if the
    # first attempt cannot find the packages.
    # shellcheck disable=SC2086
    if apt-get install -y -q --no-install-recommends $missing >&2; then
        exit 0
    fi
    if apt-get update -q >&2 &&
        apt-get install -y -q --no-install-recommends $missing >&2; then
        exit 0
    fi
    if [ -z "$optional" ]; then
        echo "libpal: could not install Debian packages:$missing" >&2
        exit 1
    fi
fi

if [ -n "$optional" ]; then
    echo "libpal: missing Debian packages:$missing; $optional skipped (install them with: sudo apt-get install$missing)" >&2
    exit 0
fi
echo "libpal: missing Debian packages:$missing (install them with: sudo apt-get install$missing)" >&2
exit 1
